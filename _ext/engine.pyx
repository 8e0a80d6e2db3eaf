# cython: language_level=3
"""The compiled step loop (private; the public API is plasticity/network.py).

``Engine`` holds raw pointers into NumPy arrays owned by the Python objects
(populations, projections, monitors), so that all mutable state lives in NumPy arrays:
``Network.store()`` / ``restore()`` copy those arrays and the run continues exactly.
``run_segment(t0, t1)`` runs steps t0 .. t1-1 without the GIL and returns early when
a monitor buffer is full or a state value becomes non-finite. The order of one step
is documented in docs/internals.md.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.math cimport exp, floor, isfinite, log
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.string cimport memcpy, memmove, memset
from libc.stdlib cimport calloc, free, realloc
from numpy.random cimport bitgen_t
from cython.parallel cimport parallel, threadid

cdef extern from *:
    void __builtin_prefetch(const void* addr) noexcept nogil

# OpenMP where the build found it (setup.py compiles the engine with -fopenmp when a
# tiny OpenMP program compiles and links); without it these are no-ops, one thread.
# (the barrier and team helpers: _threads.h, shared with conv.pyx)
cdef extern from "_threads.h":
    ctypedef struct pl_bar_t:
        int count
        int sense
        int n
    void pl_bar_wait(pl_bar_t* b, int* local_sense) noexcept nogil
    void pl_barrier() noexcept nogil
    int pl_team_size() noexcept nogil
    int pl_openmp() noexcept nogil
    double pl_wall_seconds() noexcept nogil
    double pl_thread_seconds() noexcept nogil
    unsigned long long pl_ftz_enter() noexcept nogil
    void* pl_line_calloc(size_t nbytes) noexcept nogil
    void pl_line_free(void* p) noexcept nogil
    void pl_ftz_leave(unsigned long long old) noexcept nogil

# Poisson input (Network.add_poisson_input): per target neuron and step a count of
# input spikes k ~ Poisson(lam), exact, from a counter-based hash of (seed, step,
# neuron, draw) -- the rule language's rand() (plasticity/rules/_codegen.py,
# _pl_rand) -- so a count depends on nothing else: not on the threads, the other
# neurons or how the run is cut. lam < 10: inversion of one uniform u (k = the
# smallest k with u < F(k), F summed from exp(-lam) upwards: ~1 + lam comparisons);
# lam >= 10: Hoermann's transformed rejection PTRS (1993; uniform pairs at draws
# 1, 2, then 3, 4, ...; acceptance > 90%), with lgamma_r (re-entrant) for log k!.
cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    extern double lgamma_r(double, int*);
    #include "_random.h"   /* _pl_mix, _pl_rand: the rule language's hash */
    typedef struct { double lam, elam, slam, loglam, a, b, invalpha, vr, lginv; } pl_pois_t;
    static inline void pl_pois_setup(pl_pois_t* p, double lam) {
        p->lam = lam;
        p->elam = exp(-lam);
        p->slam = sqrt(lam);
        p->loglam = log(lam);
        p->b = 0.931 + 2.53 * p->slam;
        p->a = -0.059 + 0.02483 * p->b;
        p->invalpha = 1.1239 + 1.1328 / (p->b - 3.4);
        p->vr = 0.9277 - 3.6224 / (p->b - 2.0);
        p->lginv = log(p->invalpha);
    }
    #define PL_POIS_INVERSION_MAX 10.0
    static inline int64_t pl_pois_inversion(double lam, double elam, double u) {
        double q = elam, F = elam, F2;
        int64_t k = 0;
        while (u >= F) {
            k += 1;
            q = q * (lam / (double)k);
            F2 = F + q;
            if (F2 == F) break;    /* the rest of the tail is below rounding */
            F = F2;
        }
        return k;
    }
    static int64_t pl_pois_ptrs(const pl_pois_t* p, uint64_t seed, int64_t step,
                                int64_t idx) {
        int64_t site = 1, k;
        int sg;
        double U, V, us, kd;
        for (;;) {
            U = _pl_rand(seed, step, idx, site) - 0.5;
            V = _pl_rand(seed, step, idx, site + 1);
            site += 2;
            us = 0.5 - fabs(U);
            if (us < 0.013 && V > us) continue;
            if (us <= 0.0) continue;
            kd = floor((2.0 * p->a / us + p->b) * U + p->lam + 0.43);
            if (kd < 0.0) continue;
            k = (int64_t)kd;
            if (us >= 0.07 && V <= p->vr) return k;
            if (log(V) + p->lginv - log(p->a / (us * us) + p->b)
                    <= -p->lam + kd * p->loglam - lgamma_r(kd + 1.0, &sg))
                return k;
        }
    }
    /* The fast path of one lam < 10 for a range of neurons (the uniform case): the
       uniforms' 53-bit integers m (u = m 2^-53) for a block of neurons in one loop
       (integer hashes: vectorized, AVX-512 where the CPU has it), then the count as
       the number of thresholds M_i = ceil(F_i 2^53) that m reaches (u >= F_i exactly
       when m >= M_i), F_0..F_3 summed as in pl_pois_inversion; the rare m beyond M_3
       (unless the sum had stopped growing: M = UINT64_MAX) goes through
       pl_pois_inversion itself. The same counts as pl_pois_draw, without a branch
       per neuron. */
    #define PL_PI_NT 4
    #define PL_PI_BLOCK 64
    typedef struct { uint64_t M[PL_PI_NT]; int complete; } pl_pois_thr_t;
    static void pl_pois_thresholds(pl_pois_thr_t* th, double lam, double elam) {
        double q = elam, F = elam, F2;
        int i, j;
        th->complete = 0;
        for (i = 0; i < PL_PI_NT; i++) {
            th->M[i] = (uint64_t)ceil(F * 9007199254740992.0);
            q = q * (lam / (double)(i + 1));
            F2 = F + q;
            if (F2 == F) {
                for (j = i + 1; j < PL_PI_NT; j++) th->M[j] = UINT64_MAX;
                th->complete = 1;
                return;
            }
            F = F2;
        }
    }
    /* one block of nb <= PL_PI_BLOCK neurons from j0: hashes, counts, fallbacks,
       held neurons, the adds; every loop but the rare fallback vectorizes */
    #define PL_PI_BLOCK_BODY {                                                       \
        uint64_t m[PL_PI_BLOCK];                                                     \
        int64_t kk[PL_PI_BLOCK];                                                     \
        int64_t i;                                                                   \
        const uint64_t M0 = th->M[0], M1 = th->M[1], M2 = th->M[2], M3 = th->M[3];   \
        for (i = 0; i < nb; i++)                                                     \
            m[i] = _pl_bits(seed, step, j0 + i, 0);                                  \
        for (i = 0; i < nb; i++)                                                     \
            kk[i] = (int64_t)(m[i] >= M0) + (int64_t)(m[i] >= M1)                    \
                    + (int64_t)(m[i] >= M2) + (int64_t)(m[i] >= M3);                 \
        if (!th->complete)                                                           \
            for (i = 0; i < nb; i++)                                                 \
                if (kk[i] == PL_PI_NT)                                               \
                    kk[i] = pl_pois_inversion(lam, elam,                             \
                        (double)m[i] * (1.0 / 9007199254740992.0));                  \
        if (ref != NULL)                                                             \
            for (i = 0; i < nb; i++)                                                 \
                kk[i] = ref[j0 + i] > 0.0 ? 0 : kk[i];                               \
        for (i = 0; i < nb; i++)                                                     \
            target[j0 + i] = kk[i] ? target[j0 + i] + (double)kk[i] * w              \
                                   : target[j0 + i];                                 \
    }
    #define PL_PI_BLOCK_ARGS (const pl_pois_thr_t* th, double lam, double elam,      \
        uint64_t seed, int64_t step, int64_t j0, int64_t nb, double* target,         \
        const double* ref, double w)
    static void pl_pi_block PL_PI_BLOCK_ARGS PL_PI_BLOCK_BODY
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 9
    __attribute__((target("avx512f,avx512vl,avx512dq")))
    static void pl_pi_block512 PL_PI_BLOCK_ARGS PL_PI_BLOCK_BODY
    static int pl_pi_avx512(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512dq");
    }
    #else
    static void pl_pi_block512 PL_PI_BLOCK_ARGS PL_PI_BLOCK_BODY
    static int pl_pi_avx512(void) { return 0; }
    #endif
    static int pl_pi_wide = -1;
    static void pl_pois_range_small(const pl_pois_t* p, const pl_pois_thr_t* th,
                                    uint64_t seed, int64_t step, int64_t j0, int64_t j1,
                                    double* target, const double* ref, double w) {
        int64_t b, nb;
        int wide = pl_pi_wide;
        for (b = j0; b < j1; b += PL_PI_BLOCK) {
            nb = j1 - b < PL_PI_BLOCK ? j1 - b : PL_PI_BLOCK;
            if (wide) pl_pi_block512(th, p->lam, p->elam, seed, step, b, nb, target, ref, w);
            else pl_pi_block(th, p->lam, p->elam, seed, step, b, nb, target, ref, w);
        }
    }
    /* one count; p: the parameters of lam (only lam and elam are read below 10) */
    static inline int64_t pl_pois_draw(const pl_pois_t* p, uint64_t seed, int64_t step,
                                       int64_t idx) {
        if (p->lam < PL_POIS_INVERSION_MAX)
            return pl_pois_inversion(p->lam, p->elam, _pl_rand(seed, step, idx, 0));
        return pl_pois_ptrs(p, seed, step, idx);
    }
    """
    ctypedef struct pl_pois_t:
        double lam
        double elam
    ctypedef struct pl_pois_thr_t:
        int complete
    void pl_pois_thresholds(pl_pois_thr_t* th, double lam, double elam) noexcept nogil
    void pl_pois_range_small(const pl_pois_t* p, const pl_pois_thr_t* th, uint64_t seed,
                             int64_t step, int64_t j0, int64_t j1, double* target,
                             const double* ref, double w) noexcept nogil
    int pl_pi_avx512() noexcept nogil
    int pl_pi_wide
    void pl_pois_setup(pl_pois_t* p, double lam) noexcept nogil
    int64_t pl_pois_draw(const pl_pois_t* p, uint64_t seed, int64_t step,
                         int64_t idx) noexcept nogil
    double _pl_rand(uint64_t seed, int64_t step, int64_t idx, int64_t site) noexcept nogil
    double PL_POIS_INVERSION_MAX

from plasticity._ext.neurons cimport neuron_reset, neuron_update_range
from plasticity._ext.synapses cimport first_nonfinite, normalize_columns_range
from plasticity._ext.rules cimport (
    CustomRule, StdpParams, StdpParameters, trace_value, trace_bump, clip_weight, f_plus,
    dw_depress, dw_potentiate, depress, potentiate, WDEP_ADDITIVE,
)

import numpy as np

cdef enum:
    POP_NEURON = 0
    POP_POISSON = 1
    POP_GENERATOR = 2

cdef enum:
    RULE_NONE = 0
    RULE_STDP = 1
    RULE_PYTHON = 2
    RULE_MODULATED = 3
    RULE_CUSTOM = 4
    RULE_GENERATED = 5

# a rule of the rule language (plasticity/rules/_codegen.py): one C function does all
# of a projection's rule work for one step
ctypedef void (*gen_step_fn)(void** ctx, const int32_t* pre_spk, int64_t n_pre_spk,
                             int is_syn, const int32_t* post_spk, int64_t n_post_spk,
                             int64_t step, int64_t j0, int64_t j1,
                             int phase) noexcept nogil

cdef enum:
    DELAY_NONE = 0
    DELAY_HOMOGENEOUS = 1
    DELAY_PER_SYNAPSE = 2

cdef int64_t NEVER = 0x3FFFFFFFFFFFFFFF


ctypedef struct Pop:
    int kind
    int model
    Py_ssize_t n
    double* state
    const double* params
    int32_t* spikes
    # spike history ring for delayed projections: slot (t % H) holds the spikes of t
    int H
    int32_t* hist
    int64_t* hist_n
    # Poisson source: next spike step per neuron, min-heap on (step, id)
    bitgen_t* rng
    const double* log1m_p
    int64_t* next_step
    int64_t* heap_key
    int32_t* heap_id
    # given spike trains, sorted by (step, id)
    const int64_t* gen_steps
    const int32_t* gen_ids
    Py_ssize_t gen_len
    int64_t* gen_pos
    # injected current: piecewise constant or linear in time, sets one state row
    int cur_var
    int cur_linear
    const double* cur_steps
    const double* cur_vals
    const int32_t* cur_ids
    Py_ssize_t cur_nb
    Py_ssize_t cur_nsel
    int64_t* cur_pos
    # copy of the state after the update, before the resets (for Python rules)
    double* snap
    Py_ssize_t n_vars
    # spike monitor (buffer drained by Python after each segment)
    int mon
    int32_t* mon_ids
    int64_t* mon_steps
    Py_ssize_t mon_cap
    int64_t* mon_len
    # written by thread 0 at every step, read by the others: on cache lines of their
    # own (padding on both sides), so that the fields above, which every thread reads
    # at every step, stay in its cache
    char _pad_hot0[64]
    Py_ssize_t n_spikes
    Py_ssize_t heap_size
    char _pad_hot1[64]


ctypedef struct Proj:
    int pre
    int post
    int target
    Py_ssize_t n_pre
    Py_ssize_t n_post
    const int64_t* indptr
    const int32_t* indices
    float* w32
    double* w64
    int is64
    # optional private copy of the weights in post-synaptic order (wp[q] is the
    # weight of post_syn[q]; pos[s] is where synapse s sits in it): the post-spike
    # loop, the hot one when postsynaptic neurons have many synapses, then reads
    # and writes memory sequentially. Python gathers/scatters it around a run.
    int wpost
    float* wp32
    double* wp64
    const int32_t* pos
    # with the AVX-512 loops: the pre trace of every presynaptic neuron at step
    # r1s_t (filled by thread 0 at steps whose post spikes touch enough synapses)
    double* r1s
    int64_t r1s_t
    # a large projection (nnz >= _SIMD_MIN_SYNAPSES): its rows are prefetched and,
    # with an additive rule on a CPU with AVX-512, the SIMD loops run (a small one's
    # rare bursts of wide vectors cost more in the CPU's switch to them than they
    # save; the numbers are the same either way)
    int wide
    const int64_t* post_ptr
    const int32_t* post_syn
    const int32_t* post_pre
    int delay_mode
    int delay
    int max_delay
    # built-in STDP and rule-language rules: the post-side updates (potentiation,
    # post-trace bumps: on_post) of a post spike of step s run at step s + post_delay,
    # read from the post population's history ring (0: at step s). With a
    # homogeneous delay D + 1 = d/dt steps, 2 f (D + 1) gives PyNN's
    # dendritic_delay_fraction f (STDP.post_delay)
    int post_delay
    const int32_t* dperm      # per row: synapse ids sorted by (delay, id)
    const int64_t* dstart     # (n_pre, max_delay + 2): where delay d starts in dperm
    # threads: for a team of dsplit_nt threads, where each thread's post range starts
    # in every (row, delay) run of dperm, relative to the run's start ((n_pre,
    # max_delay + 1, dsplit_nt - 1); the boundaries of threads 1 .. nt-1), so that an
    # arrival finds its part of the run without a search; NULL: searched
    const int32_t* dsplit
    int dsplit_nt
    int rule
    StdpParams sp
    # the post population's refractory row when the target is a v held during
    # refractoriness (IF, ALIF), else -1; ref points into it during a step: input
    # onto a refractory neuron is not delivered (Brian2's conditional write)
    int ref_row
    const double* ref
    # exp(-k c) for k < K, the hot trace decays as a table lookup (same values as exp)
    const double* tab_plus
    const double* tab_minus
    int64_t K_plus
    int64_t K_minus
    # slow triplet traces only where their amplitude is non-zero (else never read)
    int use_x2
    int use_y2
    int per_syn               # pre traces per synapse instead of per neuron
    double* x1
    double* x2
    int64_t* xl
    double* y1
    double* y2
    int64_t* yl
    # scratch: the post trace o1 of every post neuron at the current step, filled at
    # the first per-synapse-delay arrival of a step (_pre_delayed_stdp)
    double* o1_step
    # scratch: the slow pre trace r2 before the bump of each arriving presynaptic
    # neuron of the step (threads: bumps happen before the arrivals are processed)
    double* r2b_step
    # reward modulation (eligibility per synapse, global modulator)
    double* elig
    double* mod_d
    double dec_c
    double dec_d
    double mod_gain
    const int64_t* rew_steps
    const double* rew_amt
    Py_ssize_t rew_len
    int64_t* rew_pos
    # arrivals recorded for Python rules (delivered by the engine unless the rule
    # delivers itself)
    int py_deliver
    int32_t* arr
    int64_t* arr_n
    # copies of the post and pre populations' state taken right after this
    # projection's deliveries (NULL: none): what the rule language's NumPy backend
    # reads as the neuron variables, the values the compiled code reads at this
    # projection's turn in the step (set_python_snapshots)
    double* py_snap_post
    double* py_snap_pre
    # a user's compiled rule
    CustomRule* custom
    # a rule of the rule language: its step function, its context, and a scratch
    # list of arriving synapse ids (per-synapse delays)
    gen_step_fn gen_fn
    void** gen_ctx
    int32_t* gen_arr
    int gen_parallel          # its per-synapse work may run per postsynaptic range
    int gen_phases            # bit k: phase k of its step function has code
    const int32_t* gen_spk    # this step's arrivals (set by _generated_arrivals)
    Py_ssize_t gen_n
    int gen_is_syn


ctypedef struct StateMon:
    int pop
    Py_ssize_t nvars
    const int32_t* rows
    Py_ssize_t nids
    const int32_t* ids
    int64_t every
    double* buf
    int64_t* steps
    Py_ssize_t cap
    int64_t* length


# ----------------------------------------------------------------------------
# Poisson sources: geometric inter-spike intervals and a min-heap, so the cost
# per step is O(spikes log n), not one random number per neuron per step.
# ----------------------------------------------------------------------------
ctypedef struct PInput:
    int pop              # the target population
    int row              # its receptor row
    int ref_row          # its refractory counter row where the receptor is a held v, else -1
    uint64_t seed
    double weight
    int uniform          # one lam for every neuron: par; else lam[j], elam[j] per neuron
    pl_pois_t par
    pl_pois_thr_t thr    # the uniform case below a mean of 10: the count's thresholds
    const double* lam
    const double* elam


cdef void _poisson_input_range(const PInput* pi, Pop* p, int64_t t, Py_ssize_t j0,
                               Py_ssize_t j1) noexcept nogil:
    """The Poisson input of step t onto neurons j0 .. j1-1: k ~ Poisson(lam) input
    spikes per neuron, k * weight added to the receptor (none onto a held v)."""
    cdef double* target = p.state + pi.row * p.n
    cdef const double* ref = p.state + pi.ref_row * p.n if pi.ref_row >= 0 else NULL
    cdef Py_ssize_t j
    cdef int64_t k
    cdef pl_pois_t par
    cdef double w = pi.weight
    cdef uint64_t seed = pi.seed
    if pi.uniform:
        if pi.par.lam <= 0.0:
            return
        if pi.par.lam < PL_POIS_INVERSION_MAX:
            pl_pois_range_small(&pi.par, &pi.thr, seed, t, j0, j1, target, ref, w)
            return
        for j in range(j0, j1):
            if ref != NULL and ref[j] > 0.0:
                continue
            k = pl_pois_draw(&pi.par, seed, t, j)
            if k:
                target[j] += <double>k * w
        return
    for j in range(j0, j1):
        if pi.lam[j] <= 0.0 or (ref != NULL and ref[j] > 0.0):
            continue
        if pi.lam[j] < PL_POIS_INVERSION_MAX:
            par.lam = pi.lam[j]
            par.elam = pi.elam[j]
        else:
            pl_pois_setup(&par, pi.lam[j])
        k = pl_pois_draw(&par, seed, t, j)
        if k:
            target[j] += <double>k * w


def poisson_counts(uint64_t seed, int64_t t0, int64_t n_steps, lam):
    """The counts the engine's Poisson input draws: an int64 array (n_steps, n) whose
    [s, j] is the count of neuron j at step t0 + s for means ``lam`` (float64 (n) or
    scalar, >= 0, finite) -- for tests and references; same function, same numbers."""
    cdef const double[::1] L = np.ascontiguousarray(np.atleast_1d(lam), dtype=np.float64)
    cdef Py_ssize_t n = L.shape[0], j
    cdef int64_t s
    for j in range(n):
        if not (isfinite(L[j]) and L[j] >= 0.0):
            raise ValueError(f"lam must be finite and >= 0, got {L[j]} (index {j})")
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    out = np.zeros((n_steps, n), dtype=np.int64)
    cdef int64_t[:, ::1] o = out
    cdef pl_pois_t par
    with nogil:
        for j in range(n):
            if L[j] <= 0.0:
                continue
            pl_pois_setup(&par, L[j])
            for s in range(n_steps):
                o[s, j] = pl_pois_draw(&par, seed, t0 + s, j)
    return out


def poisson_counts_uniform(uint64_t seed, int64_t t0, int64_t n_steps, Py_ssize_t n,
                           double lam):
    """The counts of ``poisson_counts`` for one mean ``lam`` in [0, 10) shared by ``n``
    neurons, through the engine's block path for that case (what a Poisson input of
    one rate runs; ``simd()`` selects its AVX-512 form): for tests."""
    if not (isfinite(lam) and 0.0 <= lam < PL_POIS_INVERSION_MAX):
        raise ValueError(f"lam must be finite and in [0, {PL_POIS_INVERSION_MAX:g}), "
                         f"got {lam}")
    if n_steps < 0 or n < 0:
        raise ValueError(f"n_steps and n must be >= 0, got {n_steps} and {n}")
    out = np.zeros((n_steps, n), dtype=np.float64)
    cdef double[:, ::1] o = out
    cdef pl_pois_t par
    cdef pl_pois_thr_t thr
    cdef int64_t s
    pl_pois_setup(&par, lam)
    pl_pois_thresholds(&thr, par.lam, par.elam)
    if lam > 0.0 and n > 0:
        with nogil:
            for s in range(n_steps):
                pl_pois_range_small(&par, &thr, seed, t0 + s, 0, n, &o[s, 0], NULL, 1.0)
    return out.astype(np.int64)


def hash_uniform(uint64_t seed, int64_t step, int64_t idx, int64_t site):
    """The uniform in [0, 1) the Poisson input draws for (seed, step, neuron, draw)."""
    return _pl_rand(seed, step, idx, site)


cdef inline bint _heap_less(const Pop* p, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    if p.heap_key[a] != p.heap_key[b]:
        return p.heap_key[a] < p.heap_key[b]
    return p.heap_id[a] < p.heap_id[b]


cdef inline void _heap_swap(Pop* p, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    cdef int64_t k = p.heap_key[a]
    cdef int32_t i = p.heap_id[a]
    p.heap_key[a] = p.heap_key[b]
    p.heap_id[a] = p.heap_id[b]
    p.heap_key[b] = k
    p.heap_id[b] = i


cdef void _sift_down(Pop* p, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t l, r, m
    while True:
        l = 2 * i + 1
        r = l + 1
        m = i
        if l < p.heap_size and _heap_less(p, l, m):
            m = l
        if r < p.heap_size and _heap_less(p, r, m):
            m = r
        if m == i:
            return
        _heap_swap(p, i, m)
        i = m


cdef void _sift_up(Pop* p, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) // 2
        if _heap_less(p, i, parent):
            _heap_swap(p, i, parent)
            i = parent
        else:
            return


cdef inline int64_t _geometric_skip(bitgen_t* rng, double log1m_p) noexcept nogil:
    """Number of silent steps before the next spike, P(m) = (1-p)^m p."""
    cdef double u, m
    if log1m_p == 0.0:          # p == 0: never
        return NEVER
    if log1m_p < -700.0:        # p >= 1: every step
        return 0
    u = 1.0 - rng.next_double(rng.state)   # uniform in (0, 1]
    m = floor(log(u) / log1m_p)
    if m > 1e15:
        return NEVER
    return <int64_t>m


cdef void _poisson_emit(Pop* p, int64_t t) noexcept nogil:
    cdef int32_t i
    cdef int64_t m
    p.n_spikes = 0
    while p.heap_size > 0 and p.heap_key[0] == t:
        i = p.heap_id[0]
        p.spikes[p.n_spikes] = i
        p.n_spikes += 1
        m = _geometric_skip(p.rng, p.log1m_p[i])
        if m >= NEVER:
            p.next_step[i] = NEVER
            p.heap_size -= 1
            p.heap_key[0] = p.heap_key[p.heap_size]
            p.heap_id[0] = p.heap_id[p.heap_size]
        else:
            p.next_step[i] = t + 1 + m
            p.heap_key[0] = t + 1 + m
        _sift_down(p, 0)


cdef void _heap_build(Pop* p) noexcept nogil:
    cdef Py_ssize_t i
    p.heap_size = 0
    for i in range(p.n):
        if p.next_step[i] < NEVER:
            p.heap_key[p.heap_size] = p.next_step[i]
            p.heap_id[p.heap_size] = <int32_t>i
            p.heap_size += 1
    i = p.heap_size // 2
    while i >= 0:
        _sift_down(p, i)
        i -= 1


# ----------------------------------------------------------------------------
# One step of a projection
# ----------------------------------------------------------------------------
cdef inline double _exp_neg(int64_t k, double c) noexcept nogil:
    """exp(-k c); 0 without calling exp where it underflows to 0 (-k c < -746, far
    below -745.14, the smallest argument with a non-zero result): the same numbers."""
    cdef double x = -(<double>k) * c
    if x < -746.0:
        return 0.0
    return exp(x)


cdef inline double _tv(double v, int64_t last, int64_t t, double c, const double* tab,
                       int64_t K) noexcept nogil:
    """trace_value (rules.pxd) with exp(-k c) looked up for k < K: same numbers."""
    cdef int64_t k = t - last
    if k == 0 or v == 0.0:
        return v
    if k < K:
        return v * tab[k]
    return v * _exp_neg(k, c)




cdef inline Py_ssize_t _lower(const int32_t* indices, Py_ssize_t lo, Py_ssize_t hi,
                              Py_ssize_t j, Py_ssize_t n_post) noexcept nogil:
    """The first s in [lo, hi) with indices[s] >= j (a row's indices are sorted)."""
    cdef Py_ssize_t mid
    if j <= 0:
        return lo
    if j >= n_post:
        return hi
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if indices[mid] < j:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t _lower_perm(const int32_t* perm, const int32_t* indices,
                                   Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t j,
                                   Py_ssize_t n_post) noexcept nogil:
    """The first q in [lo, hi) with indices[perm[q]] >= j (a run of one row's synapses
    of one delay is in id order, so in post order)."""
    cdef Py_ssize_t mid
    if j <= 0:
        return lo
    if j >= n_post:
        return hi
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if indices[perm[mid]] < j:
            lo = mid + 1
        else:
            hi = mid
    return lo



cdef inline void _delay_run(const Proj* pr, Py_ssize_t i, Py_ssize_t d, Py_ssize_t j0,
                            Py_ssize_t j1, int tid, int nt, Py_ssize_t* lo,
                            Py_ssize_t* hi) noexcept nogil:
    """[lo, hi) in dperm: the synapses of row i with delay d onto post neurons j0 ..
    j1-1, thread tid's range of nt (_part): from the split table where it is for
    this team size, else by binary search (the same bounds)."""
    cdef Py_ssize_t D2 = pr.max_delay + 2
    cdef Py_ssize_t a = pr.dstart[i * D2 + d], b = pr.dstart[i * D2 + d + 1]
    cdef const int32_t* sp
    if nt > 1 and pr.dsplit != NULL and pr.dsplit_nt == nt:
        sp = pr.dsplit + (i * (D2 - 1) + d) * (nt - 1)
        lo[0] = a + sp[tid - 1] if tid > 0 else a
        hi[0] = a + sp[tid] if tid < nt - 1 else b
    else:
        lo[0] = _lower_perm(pr.dperm, pr.indices, a, b, j0, pr.n_post)
        hi[0] = _lower_perm(pr.dperm, pr.indices, lo[0], b, j1, pr.n_post)


def delay_splits(const int64_t[::1] indptr, const int32_t[::1] indices,
                 const int32_t[::1] dperm, const int64_t[::1] dstart, Py_ssize_t n_post,
                 int max_delay, int nt):
    """The split table of Proj.dsplit for a team of ``nt`` >= 2 threads: for every row
    i, delay d and thread r = 1 .. nt-1, the first q of the (i, d) run of ``dperm``
    whose post neuron is >= _part(n_post, r, nt), minus the run's start (int32,
    shape (n_pre, max_delay + 1, nt - 1))."""
    cdef Py_ssize_t n_pre = indptr.shape[0] - 1, D2 = max_delay + 2, i, d, a, b, q
    cdef int r
    if nt < 2:
        raise ValueError(f"nt must be >= 2, got {nt}")
    if dstart.shape[0] != n_pre * D2:
        raise ValueError(f"dstart must have n_pre * (max_delay + 2) = {n_pre * D2} "
                         f"entries, got {dstart.shape[0]}")
    out = np.empty((n_pre, D2 - 1, nt - 1), dtype=np.int32)
    cdef int32_t[:, :, ::1] o = out
    with nogil:
        for i in range(n_pre):
            for d in range(D2 - 1):
                a = dstart[i * D2 + d]
                b = dstart[i * D2 + d + 1]
                q = a
                for r in range(1, nt):
                    q = _lower_perm(&dperm[0], &indices[0], q, b, _part(n_post, r, nt),
                                    n_post)
                    o[i, d, r - 1] = <int32_t>(q - a)
    return out


def decay_table(double c, int64_t K):
    """exp(-k c) for k = 0 .. K-1, computed as the kernels compute it."""
    out = np.empty(max(K, 1))
    cdef double[::1] v = out
    cdef int64_t k
    for k in range(K):
        v[k] = exp(-(<double>k) * c)
    return out


cdef inline double _wq(const Proj* pr, Py_ssize_t q) noexcept nogil:
    return pr.wp64[q] if pr.is64 else pr.wp32[q]


cdef inline void _set_wq(Proj* pr, Py_ssize_t q, double w) noexcept nogil:
    if pr.is64:
        pr.wp64[q] = w
    else:
        pr.wp32[q] = <float>w


cdef inline double _w(const Proj* pr, Py_ssize_t s) noexcept nogil:
    if pr.wpost:
        return _wq(pr, pr.pos[s])
    return pr.w64[s] if pr.is64 else pr.w32[s]


cdef inline void _set_w(Proj* pr, Py_ssize_t s, double w) noexcept nogil:
    if pr.wpost:
        _set_wq(pr, pr.pos[s], w)
    elif pr.is64:
        pr.w64[s] = w
    else:
        pr.w32[s] = <float>w


cdef inline bint _held(const Proj* pr, Py_ssize_t j) noexcept nogil:
    """Post neuron j is refractory: input onto its held v is not delivered."""
    return pr.ref != NULL and pr.ref[j] > 0.0


cdef inline void _pre_synapse(Proj* pr, Py_ssize_t s, double r2_before,
                              double* target, int64_t t) noexcept nogil:
    """A presynaptic spike arrives at synapse s: deliver, then the pre-side update."""
    cdef int32_t j = pr.indices[s]
    cdef double w = _w(pr, s)
    cdef double o1
    if not _held(pr, j):
        target[j] += w
    if pr.rule == RULE_STDP or pr.rule == RULE_MODULATED:
        o1 = _tv(pr.y1[j], pr.yl[j], t, pr.sp.c_minus, pr.tab_minus, pr.K_minus)
        if o1 != 0.0:
            if pr.rule == RULE_STDP:
                _set_w(pr, s, depress(&pr.sp, w, o1, r2_before))
            else:
                pr.elig[s] += dw_depress(&pr.sp, w, o1, r2_before)


cdef inline void _deliver(Proj* pr, Py_ssize_t s, double* target) noexcept nogil:
    if not _held(pr, pr.indices[s]):
        target[pr.indices[s]] += _w(pr, s)


cdef inline void _bump_pre(Proj* pr, Py_ssize_t key, int64_t t) noexcept nogil:
    cdef double v1 = 1.0
    if not pr.sp.pre_nearest:
        v1 = _tv(pr.x1[key], pr.xl[key], t, pr.sp.c_plus, pr.tab_plus, pr.K_plus) + 1.0
    if pr.use_x2:
        pr.x2[key] = trace_bump(pr.x2[key], pr.xl[key], t, pr.sp.c_x, pr.sp.pre_nearest)
    pr.x1[key] = v1
    pr.xl[key] = t


cdef inline double _r2_before(Proj* pr, Py_ssize_t key, int64_t t) noexcept nogil:
    if pr.use_x2:
        return trace_value(pr.x2[key], pr.xl[key], t, pr.sp.c_x)
    return 0.0


cdef void _custom_step(Proj* pr, Pop* pre, Pop* post, const int32_t* spk,
                       Py_ssize_t nspk, double* target, int64_t t) noexcept nogil:
    cdef CustomRule* c = pr.custom
    cdef Py_ssize_t k, q, s, i, j
    for k in range(nspk):
        i = spk[k]
        for s in range(pr.indptr[i], pr.indptr[i + 1]):
            j = pr.indices[s]
            if not _held(pr, j):
                target[j] += _w(pr, s)
            _set_w(pr, s, c.on_pre_synapse(c.data, s, i, j, _w(pr, s), t))
        c.after_pre(c.data, i, t)
    for k in range(post.n_spikes):
        j = post.spikes[k]
        for q in range(pr.post_ptr[j], pr.post_ptr[j + 1]):
            s = pr.post_syn[q]
            _set_w(pr, s, c.on_post_synapse(c.data, s, pr.post_pre[q], j, _w(pr, s), t))
        c.after_post(c.data, j, t)
    if c.on_step != NULL:
        c.on_step(c.data, t)


cdef void _generated_arrivals(Proj* pr, Pop* pre, int64_t t) noexcept nogil:
    """This step's arrivals for a rule of the rule language: presynaptic neuron ids
    (no delay or one delay), or (synapse id, presynaptic neuron id) pairs of the
    synapses reached (per-synapse delays, in the order of the built-in loop: delay,
    spike, synapse)."""
    cdef Py_ssize_t s0
    cdef Py_ssize_t k, q, i, lo, hi, slot, n = 0
    cdef int64_t ts
    cdef int d
    cdef const int32_t* spk
    pr.gen_is_syn = 0
    if pr.delay_mode != DELAY_PER_SYNAPSE:
        pr.gen_spk = _arrivals(pr, pre, t, &n)
        pr.gen_n = n
    else:
        s0 = t % pre.H
        for d in range(pr.max_delay + 1):
            ts = t - d
            if ts < 0:
                break
            slot = _ring_slot(s0, d, pre.H)
            spk = pre.hist + slot * pre.n
            for k in range(pre.hist_n[slot]):
                i = spk[k]
                lo = pr.dstart[i * (pr.max_delay + 2) + d]
                hi = pr.dstart[i * (pr.max_delay + 2) + d + 1]
                for q in range(lo, hi):
                    pr.gen_arr[2 * n] = pr.dperm[q]
                    pr.gen_arr[2 * n + 1] = <int32_t>i
                    n += 1
        pr.gen_spk = pr.gen_arr
        pr.gen_n = n
        pr.gen_is_syn = 1


cdef inline void _generated_call(Proj* pr, Pop* post, int64_t t, Py_ssize_t j0,
                                 Py_ssize_t j1, int phase) noexcept nogil:
    cdef Py_ssize_t n_post
    cdef const int32_t* post_spk = _post_arrivals(pr, post, t, &n_post)
    pr.gen_fn(pr.gen_ctx, pr.gen_spk, pr.gen_n, pr.gen_is_syn, post_spk, n_post, t, j0,
              j1, phase)


cdef void _generated_step(Proj* pr, Pop* pre, Pop* post, int64_t t) noexcept nogil:
    """A rule of the rule language on one thread: every phase, in order."""
    _generated_arrivals(pr, pre, t)
    _generated_call(pr, post, t, 0, pr.n_post, -1)


cdef void _projection_step(Proj* pr, Pop* pops, int64_t t) noexcept nogil:
    """A projection that _parallel_rule keeps on thread 0: a rule of the rule
    language, a custom or Python rule, or a built-in rule with per-neuron pre traces
    reset at post spikes. The built-in one runs the partitioned code over the full
    post range (the order and the numbers of the threaded step)."""
    cdef Py_ssize_t s0
    cdef Pop* pre = &pops[pr.pre]
    cdef Pop* post = &pops[pr.post]
    cdef double* target = post.state + pr.target * post.n
    cdef Py_ssize_t k, q, s, i, lo, hi, slot, D2 = pr.max_delay + 2
    cdef int64_t ts
    cdef int d
    cdef const int32_t* spk
    cdef Py_ssize_t nspk

    if pr.rule == RULE_GENERATED:
        _generated_step(pr, pre, post, t)
        return
    if pr.rule == RULE_STDP or pr.rule == RULE_MODULATED:
        _projection_serial_part(pr, pops, t)
        _pre_range(pr, pre, post, t, 0, pr.n_post, 0, 1)
        _post_range(pr, post, t, 0, pr.n_post)
        if pr.rule == RULE_MODULATED:
            # the weight follows c d over (t, t+1], after this step's STDP events
            _modulated_range(pr, 0, pr.indptr[pr.n_pre])
            pr.mod_d[0] = pr.mod_d[0] * pr.dec_d
        return
    if pr.rule == RULE_PYTHON:
        pr.arr_n[0] = 0

    # presynaptic arrivals (no plastic built-in rule here)
    if pr.delay_mode != DELAY_PER_SYNAPSE:
        spk = _arrivals(pr, pre, t, &nspk)
        if pr.rule == RULE_CUSTOM:
            _custom_step(pr, pre, post, spk, nspk, target, t)
            return
        for k in range(nspk):
            i = spk[k]
            if pr.rule != RULE_PYTHON or pr.py_deliver:
                for s in range(pr.indptr[i], pr.indptr[i + 1]):
                    _deliver(pr, s, target)
            if pr.rule == RULE_PYTHON:
                pr.arr[pr.arr_n[0]] = <int32_t>i
                pr.arr_n[0] += 1
    else:
        s0 = t % pre.H
        for d in range(pr.max_delay + 1):
            ts = t - d
            if ts < 0:
                break
            slot = _ring_slot(s0, d, pre.H)
            spk = pre.hist + slot * pre.n
            nspk = pre.hist_n[slot]
            for k in range(nspk):
                i = spk[k]
                lo = pr.dstart[i * D2 + d]
                hi = pr.dstart[i * D2 + d + 1]
                for q in range(lo, hi):
                    s = pr.dperm[q]
                    if pr.rule != RULE_PYTHON or pr.py_deliver:
                        _deliver(pr, s, target)
                    if pr.rule == RULE_PYTHON:
                        pr.arr[pr.arr_n[0]] = <int32_t>s
                        pr.arr_n[0] += 1
    if pr.rule == RULE_PYTHON:
        if pr.py_snap_post != NULL:
            memcpy(pr.py_snap_post, post.state, post.n_vars * post.n * sizeof(double))
        if pr.py_snap_pre != NULL:
            memcpy(pr.py_snap_pre, pre.state, pre.n_vars * pre.n * sizeof(double))


ctypedef fused real_t:
    float
    double


# AVX-512 forms of the two hot loops of a built-in STDP rule with additive weight
# dependence over post-ordered weights (_post_spikes_ordered, _pre_row_ordered):
# 8 synapses per instruction, the same IEEE operations in the same order per
# synapse (products, sum, max/min for the clip, rounding to the weight type), so the
# same numbers as the scalar loops; a block with a lane outside the decay table
# (exp needed) or two lanes onto one post neuron runs the scalar expressions. Used
# where the CPU has AVX-512 (checked at run time; engine.simd() turns it off);
# compiled for that target only inside these functions (setup.py keeps
# -ffp-contract=off: no fused multiply-add anywhere).
cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    static double pl_exp_neg(int64_t k, double c) {
        double x = -((double)k) * c;
        return x < -746.0 ? 0.0 : exp(x);
    }
    static double pl_clip(double w, double lo, double hi) {
        if (w < lo) return lo;
        if (w > hi) return hi;
        return w;
    }
    /* the scalar expressions of one synapse (post spike; presynaptic arrival) */
    #define PL_POST_ONE(WT, i_, q_) do {                                        \\
        double v_ = x1[i_], r1_, w_; int64_t lag_;                             \\
        if (v_ == 0.0) break;                                                  \\
        lag_ = t - xl[i_];                                                     \\
        r1_ = lag_ < K ? v_ * tab[lag_] : v_ * pl_exp_neg(lag_, c);            \\
        if (r1_ == 0.0) break;                                                 \\
        w_ = wp[q_];                                                           \\
        wp[q_] = (WT)pl_clip(w_ + r1_ * gain, wmin, wmax);                     \\
    } while (0)
    #define PL_PRE_ONE(WT, s_) do {                                             \\
        int64_t q_ = pos[s_], j_ = indices[s_], k_;                            \\
        double w_ = wp[q_], y_, o1_;                                           \\
        target[j_] += w_;                                                      \\
        y_ = y1[j_]; k_ = t - yl[j_];                                          \\
        if (k_ == 0 || y_ == 0.0) o1_ = y_;                                    \\
        else if (k_ < Km) o1_ = y_ * tabm[k_];                                 \\
        else o1_ = y_ * pl_exp_neg(k_, cm);                                    \\
        if (o1_ != 0.0) wp[q_] = (WT)pl_clip(w_ + (-o1_) * gm, wmin, wmax);    \\
    } while (0)

    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 9
    #include <immintrin.h>
    #define PL_SIMD 1
    #define PL_T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512cd")))
    static int pl_avx512_ok(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd");
    }
    /* post-spike potentiation of one postsynaptic neuron's synapses q0 .. q1-1:
       w = clip(w + (1 * r1) * gain) where r1 = x1[i] exp(-c (t - xl[i])) != 0 */
    #define PL_POST_KERNEL(NAME, WT, LOADW, BLENDSTORE)                          \\
    PL_T512 static void NAME(const int32_t* post_pre, const double* x1,          \\
            const int64_t* xl, const double* tab, int64_t K, double c, int64_t t,\\
            WT* wp, int64_t q0, int64_t q1, double gain, double wmin,            \\
            double wmax) {                                                       \\
        const __m512d vg = _mm512_set1_pd(gain), vlo = _mm512_set1_pd(wmin);     \\
        const __m512d vhi = _mm512_set1_pd(wmax), z = _mm512_setzero_pd();       \\
        const __m512i vt = _mm512_set1_epi64(t), vK = _mm512_set1_epi64(K);      \\
        int64_t q = q0, m;                                                       \\
        for (; q + 8 <= q1; q += 8) {                                            \\
            __m256i idx = _mm256_loadu_si256((const __m256i*)(post_pre + q));    \\
            __m512d v = _mm512_i32gather_pd(idx, x1, 8);                         \\
            __m512i lag = _mm512_sub_epi64(vt, _mm512_i32gather_epi64(idx, xl, 8)); \\
            __mmask8 live = _mm512_cmp_pd_mask(v, z, _CMP_NEQ_UQ);               \\
            __mmask8 intab = _mm512_cmplt_epu64_mask(lag, vK);                   \\
            __m512d r1, w, nw;                                                   \\
            __mmask8 upd;                                                        \\
            if (live & ~intab) {                                                 \\
                for (m = q; m < q + 8; m++) PL_POST_ONE(WT, post_pre[m], m);     \\
                continue;                                                        \\
            }                                                                    \\
            r1 = _mm512_mul_pd(v, _mm512_mask_i64gather_pd(z, live, lag, tab, 8)); \\
            upd = live & _mm512_cmp_pd_mask(r1, z, _CMP_NEQ_UQ);                 \\
            if (!upd) continue;                                                  \\
            w = LOADW(wp + q);                                                   \\
            nw = _mm512_add_pd(w, _mm512_mul_pd(r1, vg));                        \\
            nw = _mm512_min_pd(vhi, _mm512_max_pd(vlo, nw));                     \\
            BLENDSTORE(wp + q, upd, nw);                                         \\
        }                                                                        \\
        for (; q < q1; q++) PL_POST_ONE(WT, post_pre[q], q);                     \\
    }
    #define PL_LOADW32(p) _mm512_cvtps_pd(_mm256_loadu_ps(p))
    #define PL_STORE32(p, k, x) _mm256_mask_storeu_ps((p), (k), _mm512_cvtpd_ps(x))
    #define PL_LOADW64(p) _mm512_loadu_pd(p)
    #define PL_STORE64(p, k, x) _mm512_mask_storeu_pd((p), (k), (x))
    PL_POST_KERNEL(pl_post_add_f32, float, PL_LOADW32, PL_STORE32)
    PL_POST_KERNEL(pl_post_add_f64, double, PL_LOADW64, PL_STORE64)

    /* presynaptic arrival at synapses lo .. hi-1 of one row (post-ordered weights
       wp, pos[s] its place): target[j] += w, then w = clip(w + ((-1 * o1) * gm))
       where o1 = y1[j] exp(-cm (t - yl[j])) != 0 */
    #define PL_PRE_KERNEL(NAME, WT, GATHERW, SCATTERW)                           \\
    PL_T512 static void NAME(const int32_t* pos, const int32_t* indices,         \\
            int64_t lo, int64_t hi, WT* wp, double* target, const double* y1,    \\
            const int64_t* yl, const double* tabm, int64_t Km, double cm,        \\
            int64_t t, double gm, double wmin, double wmax) {                    \\
        const __m512d vg = _mm512_set1_pd(gm), vlo = _mm512_set1_pd(wmin);       \\
        const __m512d vhi = _mm512_set1_pd(wmax), z = _mm512_setzero_pd();       \\
        const __m512d vneg = _mm512_set1_pd(-0.0);                               \\
        const __m512i vt = _mm512_set1_epi64(t), vK = _mm512_set1_epi64(Km);     \\
        int64_t s, m;                                                            \\
        for (s = lo; s < lo + 16 && s < hi; s++) __builtin_prefetch(&wp[pos[s]]); \\
        for (s = lo; s + 8 <= hi; s += 8) {                                      \\
            __m256i q = _mm256_loadu_si256((const __m256i*)(pos + s));           \\
            __m256i j = _mm256_loadu_si256((const __m256i*)(indices + s));       \\
            __m512d w, tg, y, o1, nw;                                            \\
            __m512i lag;                                                         \\
            __mmask8 live, upd;                                                  \\
            for (m = s + 16; m < s + 24 && m < hi; m++)                          \\
                __builtin_prefetch(&wp[pos[m]]);                                 \\
            y = _mm512_i32gather_pd(j, y1, 8);                                   \\
            lag = _mm512_sub_epi64(vt, _mm512_i32gather_epi64(j, yl, 8));        \\
            live = _mm512_cmp_pd_mask(y, z, _CMP_NEQ_UQ);                        \\
            if (!_mm256_testz_si256(_mm256_conflict_epi32(j), _mm256_set1_epi32(-1)) \\
                    || (live & ~_mm512_cmplt_epu64_mask(lag, vK))) {             \\
                for (m = s; m < s + 8; m++) PL_PRE_ONE(WT, m);                   \\
                continue;                                                        \\
            }                                                                    \\
            w = GATHERW(q, wp);                                                  \\
            tg = _mm512_add_pd(_mm512_i32gather_pd(j, target, 8), w);            \\
            _mm512_i32scatter_pd(target, j, tg, 8);                              \\
            o1 = _mm512_mul_pd(y, _mm512_mask_i64gather_pd(z, live, lag, tabm, 8)); \\
            upd = _mm512_cmp_pd_mask(o1, z, _CMP_NEQ_UQ);                        \\
            if (!upd) continue;                                                  \\
            nw = _mm512_add_pd(w, _mm512_mul_pd(_mm512_xor_pd(o1, vneg), vg));   \\
            nw = _mm512_min_pd(vhi, _mm512_max_pd(vlo, nw));                     \\
            SCATTERW(wp, upd, q, nw);                                            \\
        }                                                                        \\
        for (; s < hi; s++) PL_PRE_ONE(WT, s);                                   \\
    }
    #define PL_GATHERW32(q, p) _mm512_cvtps_pd(_mm256_i32gather_ps((p), (q), 4))
    #define PL_SCATTERW32(p, k, q, x) \\
        _mm256_mask_i32scatter_ps((p), (k), (q), _mm512_cvtpd_ps(x), 4)
    #define PL_GATHERW64(q, p) _mm512_i32gather_pd((q), (p), 8)
    #define PL_SCATTERW64(p, k, q, x) _mm512_mask_i32scatter_pd((p), (k), (q), (x), 8)
    PL_PRE_KERNEL(pl_pre_add_f32, float, PL_GATHERW32, PL_SCATTERW32)
    PL_PRE_KERNEL(pl_pre_add_f64, double, PL_GATHERW64, PL_SCATTERW64)
    /* r1s[i] = the pre trace of every presynaptic neuron at step t, as
       PL_POST_ONE computes it (0 where x1 is 0) */
    PL_T512 static void pl_fill_r1(const double* x1, const int64_t* xl,
            const double* tab, int64_t K, double c, int64_t t, int64_t n,
            double* r1s) {
        const __m512d z = _mm512_setzero_pd();
        const __m512i vt = _mm512_set1_epi64(t), vK = _mm512_set1_epi64(K);
        int64_t i = 0, m;
        for (; i + 8 <= n; i += 8) {
            __m512d v = _mm512_loadu_pd(x1 + i);
            __m512i lag = _mm512_sub_epi64(vt, _mm512_loadu_si512((const void*)(xl + i)));
            __mmask8 live = _mm512_cmp_pd_mask(v, z, _CMP_NEQ_UQ);
            __mmask8 out = live & ~_mm512_cmplt_epu64_mask(lag, vK);
            _mm512_storeu_pd(r1s + i,
                _mm512_mul_pd(v, _mm512_mask_i64gather_pd(z, live & ~out, lag, tab, 8)));
            if (out)
                for (m = i; m < i + 8; m++)
                    if (x1[m] != 0.0) {
                        int64_t l = t - xl[m];
                        r1s[m] = l < K ? x1[m] * tab[l] : x1[m] * pl_exp_neg(l, c);
                    }
        }
        for (; i < n; i++) {
            double v = x1[i];
            int64_t l = t - xl[i];
            r1s[i] = v == 0.0 ? 0.0 : (l < K ? v * tab[l] : v * pl_exp_neg(l, c));
        }
    }
    /* the post-spike potentiation of PL_POST_ONE with r1 read from pl_fill_r1's
       table (r1 == 0: no update, which covers x1 == 0) */
    #define PL_POST_R1_KERNEL(NAME, WT, LOADW, BLENDSTORE)                       \\
    PL_T512 static void NAME(const int32_t* post_pre, const double* r1s,         \\
            WT* wp, int64_t q0, int64_t q1, double gain, double wmin,            \\
            double wmax) {                                                       \\
        const __m512d vg = _mm512_set1_pd(gain), vlo = _mm512_set1_pd(wmin);     \\
        const __m512d vhi = _mm512_set1_pd(wmax), z = _mm512_setzero_pd();       \\
        int64_t q = q0;                                                          \\
        for (; q + 8 <= q1; q += 8) {                                            \\
            __m256i idx = _mm256_loadu_si256((const __m256i*)(post_pre + q));    \\
            __m512d r1 = _mm512_i32gather_pd(idx, r1s, 8), w, nw;                \\
            __mmask8 upd = _mm512_cmp_pd_mask(r1, z, _CMP_NEQ_UQ);               \\
            if (!upd) continue;                                                  \\
            w = LOADW(wp + q);                                                   \\
            nw = _mm512_add_pd(w, _mm512_mul_pd(r1, vg));                        \\
            nw = _mm512_min_pd(vhi, _mm512_max_pd(vlo, nw));                     \\
            BLENDSTORE(wp + q, upd, nw);                                         \\
        }                                                                        \\
        for (; q < q1; q++) {                                                    \\
            double r1 = r1s[post_pre[q]], w;                                     \\
            if (r1 == 0.0) continue;                                             \\
            w = wp[q];                                                           \\
            wp[q] = (WT)pl_clip(w + r1 * gain, wmin, wmax);                      \\
        }                                                                        \\
    }
    PL_POST_R1_KERNEL(pl_post_r1_f32, float, PL_LOADW32, PL_STORE32)
    PL_POST_R1_KERNEL(pl_post_r1_f64, double, PL_LOADW64, PL_STORE64)
    #else
    #define PL_SIMD 0
    static int pl_avx512_ok(void) { return 0; }
    #define PL_NO_SIMD_BODY { }
    static void pl_post_add_f32(const int32_t* a, const double* b, const int64_t* c_,
        const double* d, int64_t e, double f, int64_t g, float* h, int64_t i, int64_t j,
        double k, double l, double m) PL_NO_SIMD_BODY
    static void pl_post_add_f64(const int32_t* a, const double* b, const int64_t* c_,
        const double* d, int64_t e, double f, int64_t g, double* h, int64_t i, int64_t j,
        double k, double l, double m) PL_NO_SIMD_BODY
    static void pl_pre_add_f32(const int32_t* a, const int32_t* b, int64_t c_, int64_t d,
        float* e, double* f, const double* g, const int64_t* h, const double* i,
        int64_t j, double k, int64_t l, double m, double n, double o) PL_NO_SIMD_BODY
    static void pl_pre_add_f64(const int32_t* a, const int32_t* b, int64_t c_, int64_t d,
        double* e, double* f, const double* g, const int64_t* h, const double* i,
        int64_t j, double k, int64_t l, double m, double n, double o) PL_NO_SIMD_BODY
    static void pl_fill_r1(const double* a, const int64_t* b, const double* c_,
        int64_t d, double e, int64_t f, int64_t g, double* h) PL_NO_SIMD_BODY
    static void pl_post_r1_f32(const int32_t* a, const double* b, float* c_, int64_t d,
        int64_t e, double f, double g, double h) PL_NO_SIMD_BODY
    static void pl_post_r1_f64(const int32_t* a, const double* b, double* c_, int64_t d,
        int64_t e, double f, double g, double h) PL_NO_SIMD_BODY
    #endif
    """
    int pl_avx512_ok() noexcept nogil
    void pl_post_add_f32(const int32_t* post_pre, const double* x1, const int64_t* xl,
                         const double* tab, int64_t K, double c, int64_t t, float* wp,
                         int64_t q0, int64_t q1, double gain, double wmin,
                         double wmax) noexcept nogil
    void pl_post_add_f64(const int32_t* post_pre, const double* x1, const int64_t* xl,
                         const double* tab, int64_t K, double c, int64_t t, double* wp,
                         int64_t q0, int64_t q1, double gain, double wmin,
                         double wmax) noexcept nogil
    void pl_fill_r1(const double* x1, const int64_t* xl, const double* tab, int64_t K,
                    double c, int64_t t, int64_t n, double* r1s) noexcept nogil
    void pl_post_r1_f32(const int32_t* post_pre, const double* r1s, float* wp,
                        int64_t q0, int64_t q1, double gain, double wmin,
                        double wmax) noexcept nogil
    void pl_post_r1_f64(const int32_t* post_pre, const double* r1s, double* wp,
                        int64_t q0, int64_t q1, double gain, double wmin,
                        double wmax) noexcept nogil
    void pl_pre_add_f32(const int32_t* pos, const int32_t* indices, int64_t lo,
                        int64_t hi, float* wp, double* target, const double* y1,
                        const int64_t* yl, const double* tabm, int64_t Km, double cm,
                        int64_t t, double gm, double wmin, double wmax) noexcept nogil
    void pl_pre_add_f64(const int32_t* pos, const int32_t* indices, int64_t lo,
                        int64_t hi, double* wp, double* target, const double* y1,
                        const int64_t* yl, const double* tabm, int64_t Km, double cm,
                        int64_t t, double gm, double wmin, double wmax) noexcept nogil

# 1 where the CPU has AVX-512 and this build has the kernels; engine.simd() sets it
cdef int _simd = pl_avx512_ok()
pl_pi_wide = pl_pi_avx512()
# projections with fewer synapses keep the scalar loops (Proj.wide)
cdef Py_ssize_t _simd_min_synapses = 65536


def simd(enabled=None, min_synapses=None):
    """Whether the AVX-512 forms of the STDP loops are used (the same numbers as the
    scalar loops; they need a CPU with AVX-512F/VL/DQ/CD). ``simd(False)`` turns them
    off (tests compare both), ``simd(True)`` on where the CPU has them; either also
    sets ``plasticity._ext.neurons.simd`` (the LIFCond update) and the AVX-512 form of
    the Poisson input's hashes (integers: the same counts). ``min_synapses``:
    the projections with fewer synapses keep the scalar loops (default 65536; read
    when a run starts). Returns the setting in force."""
    global _simd, _simd_min_synapses, pl_pi_wide
    if min_synapses is not None:
        if min_synapses < 0:
            raise ValueError(f"min_synapses must be >= 0, got {min_synapses}")
        _simd_min_synapses = min_synapses
    if enabled is not None:
        _simd = 1 if (bool(enabled) and pl_avx512_ok()) else 0
        pl_pi_wide = 1 if (bool(enabled) and pl_pi_avx512()) else 0
        from plasticity._ext import neurons
        neurons.simd(enabled)
    return bool(_simd)


cdef bint _flush_denormals = True


def flush_denormals(enabled=None):
    """Whether the step loop runs with flush-to-zero and denormals-are-zero
    (_threads.h, pl_ftz_enter; on by default): values below the smallest normal
    float (2.2e-308 in float64) are read and written as 0 in the loop. Without it a
    decaying conductance or trace that reaches the denormal range stays there and
    slows every step that touches it (a B3 training sample 1.18-1.32x:
    benchmarks/denormals.py). ``flush_denormals(False)``
    keeps IEEE denormals (benchmarks and tests compare both). Returns the setting
    in force."""
    global _flush_denormals
    if enabled is not None:
        _flush_denormals = bool(enabled)
    return bool(_flush_denormals)


cdef enum:
    PREFETCH_AHEAD = 16


cdef void _pre_row_ordered(Proj* pr, Py_ssize_t i, Py_ssize_t lo, Py_ssize_t hi,
                           double* target, int64_t t, real_t* wp,
                           double r2b) noexcept nogil:
    """Delivery and depression for synapses lo .. hi-1 of presynaptic neuron i (its
    row, or the part of it onto one thread's post range) over post-ordered weights:
    the weights of a row are scattered there, so they are prefetched ahead. The same
    arithmetic as _pre_synapse."""
    cdef StdpParams sp = pr.sp
    cdef const int32_t* pos = pr.pos
    cdef const int32_t* indices = pr.indices
    cdef Py_ssize_t s, q, j
    cdef double w, o1
    for s in range(lo, min(lo + PREFETCH_AHEAD, hi)):
        __builtin_prefetch(&wp[pos[s]])
    for s in range(lo, hi):
        if s + PREFETCH_AHEAD < hi:
            __builtin_prefetch(&wp[pos[s + PREFETCH_AHEAD]])
        q = pos[s]
        j = indices[s]
        w = wp[q]
        if not _held(pr, j):
            target[j] += w
        o1 = _tv(pr.y1[j], pr.yl[j], t, sp.c_minus, pr.tab_minus, pr.K_minus)
        if o1 != 0.0:
            wp[q] = <real_t>clip_weight(&sp, w + dw_depress(&sp, w, o1, r2b))


cdef void _pre_delayed_stdp(Proj* pr, const Pop* pre, double* target, int64_t t,
                            real_t* w, Py_ssize_t j0, Py_ssize_t j1, int tid,
                            int nt) noexcept nogil:
    """Arrivals over per-synapse delays for a built-in STDP rule with per-synapse pre
    traces and no slow pre trace, the invariants in locals: the same arithmetic and
    order as the generic loop (_pre_synapse, then _bump_pre, per synapse). The post
    trace o1 depends only on the post neuron and the step, so it is computed once per
    post neuron at the first arrival of the step (the same expression). Only the
    synapses onto post neurons j0 .. j1-1 (thread tid's range of nt; 0 .. n_post
    serially): within a (row, delay) run the synapses are in id order, so in post
    order (_delay_run finds the thread's part)."""
    cdef Py_ssize_t s0
    cdef StdpParams sp = pr.sp
    cdef const int32_t* dperm = pr.dperm
    cdef const int64_t* dstart = pr.dstart
    cdef const int32_t* indices = pr.indices
    cdef double* x1 = pr.x1
    cdef int64_t* xl = pr.xl
    cdef double* o1s = pr.o1_step
    cdef int64_t ts
    cdef Py_ssize_t D2 = pr.max_delay + 2, k, q, s, i, j, lo, hi, slot, nspk
    cdef const int32_t* spk
    cdef int d, ready = 0
    cdef double wv, o1
    s0 = t % pre.H
    for d in range(pr.max_delay + 1):
        ts = t - d
        if ts < 0:
            break
        slot = _ring_slot(s0, d, pre.H)
        spk = pre.hist + slot * pre.n
        nspk = pre.hist_n[slot]
        for k in range(nspk):
            i = spk[k]
            _delay_run(pr, i, d, j0, j1, tid, nt, &lo, &hi)
            if lo < hi and not ready:
                if _simd and j1 - j0 >= 8:
                    # 8 post neurons per instruction, the same products (pl_fill_r1:
                    # tab[0] = 1 for a trace of this step, 0 for a zero trace)
                    pl_fill_r1(pr.y1 + j0, pr.yl + j0, pr.tab_minus, pr.K_minus,
                               sp.c_minus, t, j1 - j0, o1s + j0)
                else:
                    for j in range(j0, j1):
                        o1s[j] = _tv(pr.y1[j], pr.yl[j], t, sp.c_minus, pr.tab_minus,
                                     pr.K_minus)
                ready = 1
            for q in range(lo, hi):
                s = dperm[q]
                j = indices[s]
                wv = w[s]
                if not _held(pr, j):
                    target[j] += wv
                o1 = o1s[j]
                if o1 != 0.0:
                    w[s] = <real_t>clip_weight(&sp, wv + dw_depress(&sp, wv, o1, 0.0))
                if sp.pre_nearest:
                    x1[s] = 1.0
                else:
                    x1[s] = _tv(x1[s], xl[s], t, sp.c_plus, pr.tab_plus, pr.K_plus) + 1.0
                xl[s] = t


cdef void _post_spikes_ordered(Proj* pr, const int32_t* spikes, int64_t t, real_t* wp,
                               Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    """The post-spike updates of a built-in STDP rule over post-ordered weights, with
    the loop invariants in locals: the same arithmetic as _post_spikes (spikes k0 ..
    k1-1 of the list _post_arrivals gave)."""
    cdef StdpParams sp = pr.sp
    cdef const int32_t* post_pre = pr.post_pre
    cdef const double* x1 = pr.x1
    cdef const int64_t* xl = pr.xl
    cdef const double* tab = pr.tab_plus
    cdef int64_t K = pr.K_plus, lag
    cdef double c = sp.c_plus, o2, gain, v, r1, w
    cdef Py_ssize_t k, q, j, i
    for k in range(k0, k1):
        j = spikes[k]
        o2 = trace_value(pr.y2[j], pr.yl[j], t, sp.c_y) if pr.use_y2 else 0.0
        gain = sp.a_plus + sp.a3_plus * o2
        if pr.wide and _simd and sp.wdep == WDEP_ADDITIVE and pr.r1s_t == t:
            if real_t is float:
                pl_post_r1_f32(post_pre, pr.r1s, wp, pr.post_ptr[j], pr.post_ptr[j + 1],
                               gain, sp.w_min, sp.w_max)
            else:
                pl_post_r1_f64(post_pre, pr.r1s, wp, pr.post_ptr[j], pr.post_ptr[j + 1],
                               gain, sp.w_min, sp.w_max)
        elif pr.wide and _simd and sp.wdep == WDEP_ADDITIVE:
            if real_t is float:
                pl_post_add_f32(post_pre, x1, xl, tab, K, c, t, wp, pr.post_ptr[j],
                                pr.post_ptr[j + 1], gain, sp.w_min, sp.w_max)
            else:
                pl_post_add_f64(post_pre, x1, xl, tab, K, c, t, wp, pr.post_ptr[j],
                                pr.post_ptr[j + 1], gain, sp.w_min, sp.w_max)
        else:
            for q in range(pr.post_ptr[j], pr.post_ptr[j + 1]):
                i = post_pre[q]
                v = x1[i]
                if v == 0.0:
                    continue
                lag = t - xl[i]
                r1 = v * tab[lag] if lag < K else v * _exp_neg(lag, c)
                if r1 == 0.0:
                    continue
                w = wp[q]
                wp[q] = <real_t>clip_weight(&sp, w + f_plus(&sp, w) * r1 * gain)
        if sp.post_nearest:
            r1 = 1.0
        else:
            r1 = _tv(pr.y1[j], pr.yl[j], t, sp.c_minus, pr.tab_minus, pr.K_minus) + 1.0
        if pr.use_y2:
            pr.y2[j] = trace_bump(pr.y2[j], pr.yl[j], t, sp.c_y, sp.post_nearest)
        pr.y1[j] = r1
        pr.yl[j] = t


cdef void _post_spikes(Proj* pr, const int32_t* spikes, int64_t t, Py_ssize_t k0,
                       Py_ssize_t k1) noexcept nogil:
    """The post-spike updates for spikes k0 .. k1-1 of the list _post_arrivals
    gave."""
    cdef Py_ssize_t k, q, s, j, key
    cdef double r1, o2, w
    for k in range(k0, k1):
        j = spikes[k]
        o2 = trace_value(pr.y2[j], pr.yl[j], t, pr.sp.c_y) if pr.use_y2 else 0.0
        for q in range(pr.post_ptr[j], pr.post_ptr[j + 1]):
            s = pr.post_syn[q]
            key = s if pr.per_syn else pr.post_pre[q]
            r1 = _tv(pr.x1[key], pr.xl[key], t, pr.sp.c_plus, pr.tab_plus, pr.K_plus)
            if r1 != 0.0:
                if pr.wpost:
                    _set_wq(pr, q, potentiate(&pr.sp, _wq(pr, q), r1, o2))
                    if pr.sp.pre_reset:
                        pr.x1[key] = 0.0
                        pr.xl[key] = t
                    continue
                w = _w(pr, s)
                if pr.rule == RULE_STDP:
                    _set_w(pr, s, potentiate(&pr.sp, w, r1, o2))
                else:
                    pr.elig[s] += dw_potentiate(&pr.sp, w, r1, o2)
                if pr.sp.pre_reset:
                    pr.x1[key] = 0.0
                    pr.xl[key] = t
        if pr.sp.post_nearest:
            r1 = 1.0
        else:
            r1 = _tv(pr.y1[j], pr.yl[j], t, pr.sp.c_minus, pr.tab_minus, pr.K_minus) + 1.0
        if pr.use_y2:
            pr.y2[j] = trace_bump(pr.y2[j], pr.yl[j], t, pr.sp.c_y, pr.sp.post_nearest)
        pr.y1[j] = r1
        pr.yl[j] = t


# ----------------------------------------------------------------------------
# Threads (docs/internals.md, "Threads"): every thread runs the step loop below; a
# thread owns a contiguous range of each population's neurons (_part) and does their
# state updates, the deliveries onto them and the updates of their incoming synapses,
# so every number is computed by the same operations in the same order whatever the
# number of threads. What is not partitioned (sources, spike lists, per-presynaptic-
# neuron traces, rules of other kinds, monitors) runs on thread 0 between barriers.
# ----------------------------------------------------------------------------
ctypedef struct Ctx:
    Pop* pops
    Proj* projs
    StateMon* smons
    Py_ssize_t n_pops
    Py_ssize_t n_projs
    Py_ssize_t n_smons
    int64_t t            # the step being run (written by thread 0 only)
    int64_t t1
    int go               # thread 0's verdict for the step: run it or return
    int stop             # 1: a monitor buffer is full; 2: a non-finite value
    int err_pop
    Py_ssize_t err_code
    Py_ssize_t* cnt      # (threads, n_pops): a thread's spike count or error code,
    Py_ssize_t cnt_stride  # its own 64-byte lines per thread (no line written by two)
    char _pad_bar0[64]   # the barrier's line, written at every barrier, holds nothing
    pl_bar_t bar         # the barrier of the team
    char _pad_bar1[64]   # else (the fields around it are read at every step)
    PInput* pin          # Poisson inputs (Network.add_poisson_input)
    Py_ssize_t n_pin
    # the team loop (_run_team): each neuron population's spikes of the step as the
    # threads found them (thread r's at seg + seg_off[k] + _part(n, r, nt), count in
    # cnt), joined into the population's list by thread 0
    int32_t* seg
    Py_ssize_t* seg_off


cdef inline void _sync(Ctx* c, int nt, int* sense) noexcept nogil:
    if nt > 1:
        pl_bar_wait(&c.bar, sense)


cdef inline Py_ssize_t _part(Py_ssize_t n, int r, int nt) noexcept nogil:
    """Start of thread r's range of n neurons (of nt threads): contiguous, ascending;
    the inner boundaries at multiples of 8, so that where a row of float64 starts on
    a 64-byte line (state blocks: neurons.initial_state) no line holds two threads'
    neurons (a line written by two cores moves between them at every write)."""
    cdef int64_t q
    if r <= 0:
        return 0
    if r >= nt:
        return n
    q = (<int64_t>n * r) // nt
    return <Py_ssize_t>(q - (q & 7))


cdef inline bint _parallel_rule(const Proj* pr) noexcept nogil:
    """Projections whose step is partitioned by post neuron: no rule or a built-in one
    (the per-synapse pre-trace reset of nearest pre-centred pairs touches only the
    thread's own synapses; a per-neuron one would not)."""
    if pr.rule == RULE_NONE:
        return True
    if pr.rule == RULE_STDP or pr.rule == RULE_MODULATED:
        return pr.per_syn or not pr.sp.pre_reset
    return False


cdef inline const int32_t* _spikes_ago(const Pop* p, int64_t t, int lag,
                                       Py_ssize_t* n) noexcept nogil:
    """The spikes of population p at step t - lag (ascending ids): the step's own
    list for lag 0, else its history ring (H > lag); none before step 0."""
    cdef int64_t ts
    cdef Py_ssize_t slot
    if lag == 0:
        n[0] = p.n_spikes
        return p.spikes
    ts = t - lag
    if ts < 0:
        n[0] = 0
        return p.spikes
    slot = ts % p.H
    n[0] = p.hist_n[slot]
    return p.hist + slot * p.n


cdef inline Py_ssize_t _ring_slot(Py_ssize_t s0, int d, Py_ssize_t H) noexcept nogil:
    """The history slot of step t - d where s0 is step t's (0 <= d < H): the delay
    loops step back through the ring without a division per delay."""
    cdef Py_ssize_t s = s0 - d
    return s + H if s < 0 else s


cdef inline const int32_t* _arrivals(const Proj* pr, const Pop* pre, int64_t t,
                                     Py_ssize_t* nspk) noexcept nogil:
    """The presynaptic spikes arriving at step t (no delay or a homogeneous one)."""
    return _spikes_ago(pre, t, 0 if pr.delay_mode == DELAY_NONE else pr.delay, nspk)


cdef inline const int32_t* _post_arrivals(const Proj* pr, const Pop* post, int64_t t,
                                          Py_ssize_t* n) noexcept nogil:
    """The postsynaptic spikes whose post-side updates run at step t (ascending
    ids): the step's own, or with a post delay P those of step t - P (the post
    population's history ring, H > P: set_post_delay)."""
    return _spikes_ago(post, t, pr.post_delay, n)


cdef void _pre_range(Proj* pr, Pop* pre, Pop* post, int64_t t, Py_ssize_t j0,
                     Py_ssize_t j1, int tid, int nt) noexcept nogil:
    """The arrivals of step t at the synapses onto post neurons j0 .. j1-1: delivery
    and the pre-side rule update, arrival by arrival. Per-neuron pre traces were
    bumped before (_pre_bumps, which kept r2 before the bump): nothing here reads
    x1, so the numbers are those of bumping after each row."""
    cdef Py_ssize_t s0
    cdef double* target = post.state + pr.target * post.n
    cdef int plastic = pr.rule == RULE_STDP or pr.rule == RULE_MODULATED
    cdef const int32_t* spk
    cdef Py_ssize_t nspk, k, s, q, i, lo, hi, slot, n_post = pr.n_post
    cdef Py_ssize_t D2 = pr.max_delay + 2
    cdef int64_t ts
    cdef int d
    cdef double r2b
    if j0 >= j1:
        return
    if pr.delay_mode != DELAY_PER_SYNAPSE:
        spk = _arrivals(pr, pre, t, &nspk)
        for k in range(nspk):
            i = spk[k]
            if pr.wpost and pr.wide:
                _prefetch_rows(pr, spk, k, nspk)
            lo = _lower(pr.indices, pr.indptr[i], pr.indptr[i + 1], j0, n_post)
            hi = _lower(pr.indices, lo, pr.indptr[i + 1], j1, n_post)
            if not plastic:
                for s in range(lo, hi):
                    _deliver(pr, s, target)
            elif pr.per_syn:
                for s in range(lo, hi):
                    _pre_synapse(pr, s, _r2_before(pr, s, t), target, t)
                    _bump_pre(pr, s, t)
            elif pr.wpost and pr.rule == RULE_STDP and pr.wide and _simd and hi - lo >= 8 \
                    and pr.sp.wdep == WDEP_ADDITIVE and pr.ref == NULL:
                r2b = pr.r2b_step[k] if pr.use_x2 else 0.0
                r2b = pr.sp.a_minus + pr.sp.a3_minus * r2b  # dw_depress's gain
                if pr.is64:
                    pl_pre_add_f64(pr.pos, pr.indices, lo, hi, pr.wp64, target, pr.y1,
                                   pr.yl, pr.tab_minus, pr.K_minus, pr.sp.c_minus, t,
                                   r2b, pr.sp.w_min, pr.sp.w_max)
                else:
                    pl_pre_add_f32(pr.pos, pr.indices, lo, hi, pr.wp32, target, pr.y1,
                                   pr.yl, pr.tab_minus, pr.K_minus, pr.sp.c_minus, t,
                                   r2b, pr.sp.w_min, pr.sp.w_max)
            elif pr.wpost and pr.rule == RULE_STDP:
                if pr.is64:
                    _pre_row_ordered[double](pr, i, lo, hi, target, t, pr.wp64,
                                             pr.r2b_step[k] if pr.use_x2 else 0.0)
                else:
                    _pre_row_ordered[float](pr, i, lo, hi, target, t, pr.wp32,
                                            pr.r2b_step[k] if pr.use_x2 else 0.0)
            else:
                r2b = pr.r2b_step[k] if pr.use_x2 else 0.0
                for s in range(lo, hi):
                    _pre_synapse(pr, s, r2b, target, t)
    elif pr.rule == RULE_STDP and pr.per_syn and not pr.wpost and not pr.use_x2 \
            and pr.o1_step != NULL:
        if pr.is64:
            _pre_delayed_stdp[double](pr, pre, target, t, pr.w64, j0, j1, tid, nt)
        else:
            _pre_delayed_stdp[float](pr, pre, target, t, pr.w32, j0, j1, tid, nt)
    else:
        s0 = t % pre.H
        for d in range(pr.max_delay + 1):
            ts = t - d
            if ts < 0:
                break
            slot = _ring_slot(s0, d, pre.H)
            spk = pre.hist + slot * pre.n
            nspk = pre.hist_n[slot]
            for k in range(nspk):
                i = spk[k]
                _delay_run(pr, i, d, j0, j1, tid, nt, &lo, &hi)
                for q in range(lo, hi):
                    s = pr.dperm[q]
                    if plastic:
                        _pre_synapse(pr, s, _r2_before(pr, s, t), target, t)
                        _bump_pre(pr, s, t)
                    else:
                        _deliver(pr, s, target)


cdef inline void _prefetch_rows(const Proj* pr, const int32_t* spk, Py_ssize_t k,
                                Py_ssize_t nspk) noexcept nogil:
    """Before the row of arrival k (post-ordered weights): the start of the row
    after next in pos and indices, and the first weights of the next row, are
    requested from memory (each row start is elsewhere; no effect on the numbers)."""
    cdef Py_ssize_t s, e, i2
    if k + 2 < nspk:
        i2 = spk[k + 2]
        s = pr.indptr[i2]
        e = pr.indptr[i2 + 1]
        # the whole row: its first weights' prefetch (next call) and the kernel's
        # loads would otherwise wait on these lines
        while s < e:
            __builtin_prefetch(&pr.pos[s])
            __builtin_prefetch(&pr.indices[s])
            s += 16
    if k + 1 < nspk:
        i2 = spk[k + 1]
        s = pr.indptr[i2]
        e = min(s + PREFETCH_AHEAD, pr.indptr[i2 + 1])
        while s < e:
            if pr.is64:
                __builtin_prefetch(&pr.wp64[pr.pos[s]])
            else:
                __builtin_prefetch(&pr.wp32[pr.pos[s]])
            s += 1


cdef void _pre_bumps(Proj* pr, Pop* pre, int64_t t) noexcept nogil:
    """The per-presynaptic-neuron trace bumps of step t's arrivals (thread 0, before
    the threads process the arrivals), keeping r2 before each bump for _pre_range:
    the values of bumping after each row (nothing in the rows reads x1, and r2 is
    read as it was before)."""
    cdef const int32_t* spk
    cdef Py_ssize_t nspk, k, s, e
    spk = _arrivals(pr, pre, t, &nspk)
    for k in range(nspk):
        if pr.use_x2:
            pr.r2b_step[k] = _r2_before(pr, spk[k], t)
        _bump_pre(pr, spk[k], t)
        if pr.wpost and pr.wide and k < 2:
            # the first rows' positions and post indices, which _prefetch_rows does
            # not reach: requested now, read after the trace table (no effect on the
            # numbers)
            s = pr.indptr[spk[k]]
            e = pr.indptr[spk[k] + 1]
            while s < e:
                __builtin_prefetch(&pr.pos[s])
                __builtin_prefetch(&pr.indices[s])
                s += 16


cdef void _post_range(Proj* pr, Pop* post, int64_t t, Py_ssize_t j0,
                      Py_ssize_t j1) noexcept nogil:
    """The post-spike updates of step t for the spikes of post neurons j0 .. j1-1 (a
    contiguous part of the ascending list of _post_arrivals)."""
    cdef Py_ssize_t n
    cdef const int32_t* spikes = _post_arrivals(pr, post, t, &n)
    cdef Py_ssize_t k0 = _lower(spikes, 0, n, j0, post.n)
    cdef Py_ssize_t k1 = _lower(spikes, k0, n, j1, post.n)
    if k0 >= k1:
        return
    if pr.wpost and not pr.per_syn and not pr.sp.pre_reset:
        if pr.is64:
            _post_spikes_ordered[double](pr, spikes, t, pr.wp64, k0, k1)
        else:
            _post_spikes_ordered[float](pr, spikes, t, pr.wp32, k0, k1)
    else:
        _post_spikes(pr, spikes, t, k0, k1)


cdef void _modulated_range(Proj* pr, Py_ssize_t s0, Py_ssize_t s1) noexcept nogil:
    """Reward-modulated STDP, synapses s0 .. s1-1: w += integral of c(t) d(t) over
    the step, then c decays (the modulator d of the step already includes its
    rewards; the caller decays d)."""
    cdef Py_ssize_t s
    cdef double d = pr.mod_d[0], c
    for s in range(s0, s1):
        c = pr.elig[s]
        if c != 0.0:
            if d != 0.0:
                _set_w(pr, s, clip_weight(&pr.sp, _w(pr, s) + c * d * pr.mod_gain))
            pr.elig[s] = c * pr.dec_c


cdef void _projection_serial_part(Proj* pr, Pop* pops, int64_t t) noexcept nogil:
    """Thread 0, before the threads process projection pr at step t (in
    _gather_spikes): per-neuron pre-trace bumps, rewards of the step."""
    cdef Py_ssize_t n_post_spikes
    if pr.rule == RULE_STDP or pr.rule == RULE_MODULATED:
        if not pr.per_syn and pr.delay_mode != DELAY_PER_SYNAPSE:
            _pre_bumps(pr, &pops[pr.pre], t)
        # the post-spike loops read r1 from a table when they touch at least a
        # quarter as many synapses as it has entries (same numbers either way)
        _post_arrivals(pr, &pops[pr.post], t, &n_post_spikes)
        if _fill_r1_now(pr, n_post_spikes):
            pl_fill_r1(pr.x1, pr.xl, pr.tab_plus, pr.K_plus, pr.sp.c_plus, t, pr.n_pre,
                       pr.r1s)
            pr.r1s_t = t
    if pr.rule == RULE_MODULATED:
        _add_rewards(pr, t)


cdef void _projection_parallel(Ctx* c, Proj* pr, int64_t t, int tid,
                               int nt, int* sense) noexcept nogil:
    """One projection's step on thread tid of nt: arrivals, then post spikes, for
    the thread's post neurons. No barrier is needed before the next projection of
    this kind: each thread wrote only what its own post neurons own."""
    cdef Pop* pre = &c.pops[pr.pre]
    cdef Pop* post = &c.pops[pr.post]
    cdef Py_ssize_t j0 = _part(pr.n_post, tid, nt), j1 = _part(pr.n_post, tid + 1, nt)
    cdef Py_ssize_t nnz
    _pre_range(pr, pre, post, t, j0, j1, tid, nt)
    if pr.rule == RULE_NONE:
        return
    _post_range(pr, post, t, j0, j1)
    if pr.rule == RULE_MODULATED:
        # the weight follows c d over (t, t+1]; by synapse, so between barriers
        _sync(c, nt, sense)
        nnz = pr.indptr[pr.n_pre]
        _modulated_range(pr, _part(nnz, tid, nt), _part(nnz, tid + 1, nt))
        _sync(c, nt, sense)
        if tid == 0:
            pr.mod_d[0] = pr.mod_d[0] * pr.dec_d


cdef void _step_begin(Ctx* c, int64_t t) noexcept nogil:
    """Thread 0, start of step t: state monitors, sources, injected currents."""
    cdef Py_ssize_t k, q, v, n
    cdef Pop* p
    cdef StateMon* m
    for k in range(c.n_smons):
        m = &c.smons[k]
        if t % m.every == 0:
            p = &c.pops[m.pop]
            n = m.length[0]
            for v in range(m.nvars):
                for q in range(m.nids):
                    m.buf[(n * m.nvars + v) * m.nids + q] = \
                        p.state[m.rows[v] * p.n + m.ids[q]]
            m.steps[n] = t
            m.length[0] = n + 1
    for k in range(c.n_pops):
        p = &c.pops[k]
        if not _source_spikes(p, t) and p.cur_var >= 0:
            _apply_current(p, t)


cdef bint _join_spikes(Ctx* c, int nt, int64_t t, bint from_segments) noexcept nogil:
    """Thread 0, after the neuron updates of step t: each population's spike list is
    the threads' lists in thread order (ascending ids), gathered in place in
    p.spikes (the step loop) or from the team loop's segments; the first non-finite
    value of the lowest population and neuron stops the run (c.stop = 2, returns
    False); spike histories; snapshots."""
    cdef Py_ssize_t k, q, code, total, i0, slot
    cdef int r, bad
    cdef Pop* p
    cdef const int32_t* src
    for k in range(c.n_pops):
        p = &c.pops[k]
        if p.kind == POP_NEURON:
            total = 0
            bad = 0
            for r in range(nt):
                code = c.cnt[r * c.cnt_stride + k]
                if code < 0:
                    if not bad and c.err_pop < 0:
                        c.err_pop = <int>k
                        c.err_code = -1 - code
                    bad = 1
                elif not bad:
                    i0 = _part(p.n, r, nt)
                    src = (c.seg + c.seg_off[k] if from_segments else p.spikes) + i0
                    if code > 0 and src != p.spikes + total:
                        memmove(p.spikes + total, src, code * sizeof(int32_t))
                    total += code
            p.n_spikes = 0 if bad else total
        if p.H > 0:
            slot = t % p.H
            for q in range(p.n_spikes):
                p.hist[slot * p.n + q] = p.spikes[q]
            p.hist_n[slot] = p.n_spikes
    if c.err_pop >= 0:
        c.stop = 2
        return False
    for k in range(c.n_pops):
        p = &c.pops[k]
        if p.snap != NULL:
            memcpy(p.snap, p.state, p.n_vars * p.n * sizeof(double))
    return True


cdef inline void _add_rewards(Proj* pr, int64_t t) noexcept nogil:
    """The rewards of step t into a reward-modulated projection's modulator d."""
    while pr.rew_pos[0] < pr.rew_len and pr.rew_steps[pr.rew_pos[0]] <= t:
        if pr.rew_steps[pr.rew_pos[0]] == t:
            pr.mod_d[0] += pr.rew_amt[pr.rew_pos[0]]
        pr.rew_pos[0] += 1


cdef void _gather_spikes(Ctx* c, int nt, int64_t t) noexcept nogil:
    """Thread 0 in the step loop, after the neuron updates: the spike lists joined
    (_join_spikes), then the projections' serial parts."""
    cdef Py_ssize_t k
    if not _join_spikes(c, nt, t, False):
        return
    for k in range(c.n_projs):
        if _parallel_rule(&c.projs[k]):
            _projection_serial_part(&c.projs[k], c.pops, t)


cdef void _step_end(Ctx* c, int64_t t) noexcept nogil:
    """Thread 0, end of step t: resets, spike monitors, full buffers; next step."""
    cdef Py_ssize_t k, q, n
    cdef Pop* p
    cdef StateMon* m
    for k in range(c.n_pops):
        p = &c.pops[k]
        if p.kind == POP_NEURON and p.n_spikes > 0:
            neuron_reset(p.model, p.state, p.n, p.params, p.spikes, p.n_spikes)
        if p.mon:
            n = p.mon_len[0]
            for q in range(p.n_spikes):
                p.mon_ids[n + q] = p.spikes[q]
                p.mon_steps[n + q] = t
            p.mon_len[0] = n + p.n_spikes
            if p.mon_len[0] + p.n > p.mon_cap:
                c.stop = 1
    for k in range(c.n_smons):
        m = &c.smons[k]
        if m.length[0] >= m.cap:
            c.stop = 1
    c.t = t + 1


cdef void _generated_parallel(Ctx* c, Proj* pr, int64_t t, int tid, int nt,
                              int* sense) noexcept nogil:
    """A rule of the rule language on nt threads: its one-thread phases (shared
    inputs; the presynaptic neurons' own variables; shared on_step statements; the
    presynaptic and shared clock-driven updates) on thread 0, its per-synapse and
    postsynaptic phases on every thread for its postsynaptic range, a barrier
    between phases: the order of the one-thread code, the same numbers."""
    cdef Pop* pre = &c.pops[pr.pre]
    cdef Pop* post = &c.pops[pr.post]
    cdef Py_ssize_t j0 = _part(pr.n_post, tid, nt), j1 = _part(pr.n_post, tid + 1, nt)
    cdef int phase
    if tid == 0:
        _generated_arrivals(pr, pre, t)
        _generated_call(pr, post, t, 0, pr.n_post, 0)
    for phase in range(1, 7):
        if not (pr.gen_phases >> phase) & 1:
            continue            # no code (pair STDP: phases 1 and 3 only): no barrier
        _sync(c, nt, sense)     # after the last phase that had code
        if phase % 2 == 1:
            _generated_call(pr, post, t, j0, j1, phase)
        elif tid == 0:
            _generated_call(pr, post, t, 0, pr.n_post, phase)


cdef void _run_thread(Ctx* c, int tid, int nt) noexcept nogil:
    """The step loop as thread tid of nt runs it (nt = 1: the serial engine)."""
    cdef int64_t t
    cdef Py_ssize_t k, i0
    cdef Pop* p
    cdef Proj* pr
    cdef int local_sense = 0, dirty
    cdef int* sense = &local_sense
    if nt > 1:
        if tid == 0:
            c.bar.n = nt      # the team OpenMP gave (perhaps fewer than asked for)
            c.bar.count = 0
            c.bar.sense = 0
        pl_barrier()
    while True:
        if tid == 0:
            c.go = c.t < c.t1 and c.stop == 0
            if c.go:
                _step_begin(c, c.t)
        _sync(c, nt, sense)
        if not c.go:
            return
        t = c.t
        for k in range(c.n_pops):
            p = &c.pops[k]
            if p.kind == POP_NEURON:
                i0 = _part(p.n, tid, nt)
                c.cnt[tid * c.cnt_stride + k] = neuron_update_range(
                    p.model, p.state, p.n, i0, _part(p.n, tid + 1, nt), p.params,
                    p.spikes + i0)
        _sync(c, nt, sense)
        if tid == 0:
            _gather_spikes(c, nt, t)
        _sync(c, nt, sense)
        if c.stop == 2:
            return
        # Poisson inputs: as a projection with no delay connected before all others,
        # each thread onto its own neurons (the partition of the projections below)
        for k in range(c.n_pin):
            p = &c.pops[c.pin[k].pop]
            _poisson_input_range(&c.pin[k], p, t, _part(p.n, tid, nt),
                                 _part(p.n, tid + 1, nt))
        dirty = c.n_pin > 0     # parallel work since the last barrier
        for k in range(c.n_projs):
            pr = &c.projs[k]
            if _parallel_rule(pr):
                _projection_parallel(c, pr, t, tid, nt, sense)
                dirty = 1
            elif pr.rule == RULE_GENERATED and pr.gen_parallel and nt > 1:
                if dirty:
                    _sync(c, nt, sense)
                _generated_parallel(c, pr, t, tid, nt, sense)
                dirty = 1       # thread 0's last phase: a barrier before serial work
            else:
                if dirty:
                    _sync(c, nt, sense)
                    dirty = 0
                if tid == 0:
                    _projection_step(pr, c.pops, t)
                _sync(c, nt, sense)
        if dirty:
            _sync(c, nt, sense)
        if tid == 0:
            _step_end(c, t)


# ----------------------------------------------------------------------------
# The team loop: nt > 1 threads, no state monitor and no injected current (else
# _run_thread). Three barriers per step instead of four (two where _team_lean holds),
# and less on thread 0:
# * each thread resets its own neurons that spiked in the step before (from its
#   segment of that step), at the start of the step, not thread 0 after it: no
#   one touches those neurons in between (the projections of the step before are
#   done, the sources of this step touch only the sources);
# * thread 0 draws the sources' spikes of the step while the others update their
#   neurons (the sources are read after the next barrier), so no barrier between;
# * the spike monitors take the step's spikes when thread 0 joins them (before the
#   projections run), so the decision to stop after the step (a full buffer) is
#   known to every thread after the step's last barrier;
# * the per-presynaptic-neuron trace bumps and the r1 table of a built-in rule are
#   shared out by presynaptic neuron (_pre_bumps_team) after the join's barrier;
# * where _team_lean holds, no barrier after the projections either: two per step.
# Every number is computed by the same operations in the same order as in
# _run_thread (tests/test_threads.py holds the two to each other).
# ----------------------------------------------------------------------------
cdef inline bint _team_error(const Ctx* c, int nt) noexcept nogil:
    """Whether a thread found a non-finite value in the step (a negative count)."""
    cdef Py_ssize_t k
    cdef int r
    for r in range(nt):
        for k in range(c.n_pops):
            if c.cnt[r * c.cnt_stride + k] < 0:
                return True
    return False


cdef inline Py_ssize_t _team_spikes(const Ctx* c, int nt, Py_ssize_t k) noexcept nogil:
    """Spikes of neuron population k in the step, summed over the threads' counts
    (no count is negative: _team_error is false)."""
    cdef Py_ssize_t total = 0
    cdef int r
    for r in range(nt):
        total += c.cnt[r * c.cnt_stride + k]
    return total


cdef void _reset_own(Ctx* c, int tid, int nt) noexcept nogil:
    """Thread tid: the after-spike reset of its own neurons that spiked in the step
    before (its segment of that step; counts >= 0, else the run has stopped)."""
    cdef Py_ssize_t k, n, i0
    cdef Pop* p
    for k in range(c.n_pops):
        p = &c.pops[k]
        if p.kind == POP_NEURON:
            n = c.cnt[tid * c.cnt_stride + k]
            if n > 0:
                i0 = _part(p.n, tid, nt)
                neuron_reset(p.model, p.state, p.n, p.params,
                             c.seg + c.seg_off[k] + i0, n)


cdef inline bint _source_spikes(Pop* p, int64_t t) noexcept nogil:
    """The spikes of step t of a source population (Poisson draws, or the
    generator's list); False for a neuron population (nothing done)."""
    if p.kind == POP_POISSON:
        _poisson_emit(p, t)
    elif p.kind == POP_GENERATOR:
        p.n_spikes = 0
        while p.gen_pos[0] < p.gen_len and p.gen_steps[p.gen_pos[0]] <= t:
            if p.gen_steps[p.gen_pos[0]] == t:
                p.spikes[p.n_spikes] = p.gen_ids[p.gen_pos[0]]
                p.n_spikes += 1
            p.gen_pos[0] += 1
    else:
        return False
    return True


cdef void _sources(Ctx* c, int64_t t) noexcept nogil:
    """Thread 0, start of step t in the team loop: the sources' spikes."""
    cdef Py_ssize_t k
    for k in range(c.n_pops):
        _source_spikes(&c.pops[k], t)


cdef inline bint _fill_r1_now(const Proj* pr, Py_ssize_t n_post_spikes) noexcept nogil:
    """Whether the post-spike loops of this step read r1 from the table (they touch
    at least a quarter as many synapses as it has entries; same numbers either
    way), given the number of post spikes they process (_post_arrivals)."""
    return pr.r1s != NULL and pr.wide and _simd and pr.sp.wdep == WDEP_ADDITIVE \
        and not pr.per_syn and not pr.sp.pre_reset and n_post_spikes > 0 \
        and 4 * n_post_spikes * (pr.indptr[pr.n_pre] // max(pr.n_post, 1)) >= pr.n_pre


cdef void _pre_bumps_team(Ctx* c, Proj* pr, int64_t t, int tid, int nt) noexcept nogil:
    """Thread tid's part of _projection_serial_part's bumps (_pre_bumps) and r1
    table: the arrivals of step t from its presynaptic neurons (_part of the pre
    population, the range it updates), and the table entries of those neurons. Each
    arrival is a distinct neuron, so the bumps touch disjoint entries; r2b_step keeps
    its index in the step's list."""
    cdef Pop* pre = &c.pops[pr.pre]
    cdef Py_ssize_t i0 = _part(pr.n_pre, tid, nt), i1 = _part(pr.n_pre, tid + 1, nt)
    cdef Py_ssize_t nspk, k, k0, k1, koff = 0
    cdef const int32_t* spk
    cdef int r
    if pr.per_syn or pr.delay_mode == DELAY_PER_SYNAPSE:
        k0 = k1 = 0                            # no per-neuron bumps
        spk = NULL
    elif pr.delay_mode == DELAY_NONE and pre.kind == POP_NEURON:
        # the step's own spikes, being joined by thread 0: this thread's segment
        spk = c.seg + c.seg_off[pr.pre] + i0
        k1 = c.cnt[tid * c.cnt_stride + pr.pre]
        for r in range(tid):
            koff += c.cnt[r * c.cnt_stride + pr.pre]
        k0 = 0
    else:
        spk = _arrivals(pr, pre, t, &nspk)   # complete and ascending
        k0 = _lower(spk, 0, nspk, i0, pr.n_pre)
        k1 = _lower(spk, k0, nspk, i1, pr.n_pre)
    for k in range(k0, k1):
        if pr.use_x2:
            pr.r2b_step[koff + k] = _r2_before(pr, spk[k], t)
        _bump_pre(pr, spk[k], t)
    if pr.post_delay == 0:
        nspk = _team_spikes(c, nt, pr.post)    # the step's, being joined by thread 0
    else:
        _post_arrivals(pr, &c.pops[pr.post], t, &nspk)   # an earlier step's: complete
    if _fill_r1_now(pr, nspk):
        if i1 > i0:
            pl_fill_r1(pr.x1 + i0, pr.xl + i0, pr.tab_plus, pr.K_plus, pr.sp.c_plus, t,
                       i1 - i0, pr.r1s + i0)
        if tid == 0:
            pr.r1s_t = t


cdef void _gather_team(Ctx* c, int nt, int64_t t) noexcept nogil:
    """Thread 0 in the team loop, after the neuron updates of step t: the spike
    lists joined from the threads' segments (_join_spikes), then spike monitors (a
    full buffer stops the run after the step) and rewards."""
    cdef Py_ssize_t k, q, n
    cdef Pop* p
    cdef Proj* pr
    if not _join_spikes(c, nt, t, True):
        return
    for k in range(c.n_pops):
        p = &c.pops[k]
        if p.mon:
            n = p.mon_len[0]
            for q in range(p.n_spikes):
                p.mon_ids[n + q] = p.spikes[q]
                p.mon_steps[n + q] = t
            p.mon_len[0] = n + p.n_spikes
            if p.mon_len[0] + p.n > p.mon_cap:
                c.stop = 1
    for k in range(c.n_projs):
        pr = &c.projs[k]
        if _parallel_rule(pr) and pr.rule == RULE_MODULATED:
            _add_rewards(pr, t)


cdef bint _team_lean(const Ctx* c) noexcept nogil:
    """Whether the team loop may leave out the barrier after the projections: every
    projection is of the kind partitioned by post neuron (no thread-0 phases), not
    reward-modulated (thread 0 decays its modulator), and none reads a source's
    spike list of the step directly (thread 0 draws the next step's while the
    projections may still run). What the next step does before its first barrier
    (resets, sources, updates) then touches nothing the projections read: a thread's
    own neurons (the projections write only their own post neurons' inputs and read
    only their refractory counters), the sources' lists and heaps, the segments."""
    cdef Py_ssize_t k
    cdef const Proj* pr
    for k in range(c.n_projs):
        pr = &c.projs[k]
        if not _parallel_rule(pr) or pr.rule == RULE_MODULATED:
            return False
        if pr.delay_mode == DELAY_NONE and c.pops[pr.pre].kind != POP_NEURON:
            return False
    return True


cdef void _run_team(Ctx* c, int tid, int nt) noexcept nogil:
    """The step loop as thread tid of a team of nt > 1 runs it (see above)."""
    cdef int64_t t = c.t
    cdef Py_ssize_t k, i0
    cdef Pop* p
    cdef Proj* pr
    cdef int local_sense = 0, dirty, pending = 0
    cdef int* sense = &local_sense
    cdef bint lean = _team_lean(c)
    if tid == 0:
        c.bar.n = nt          # the team OpenMP gave (perhaps fewer than asked for)
        c.bar.count = 0
        c.bar.sense = 0
    pl_barrier()
    while t < c.t1 and c.stop == 0:
        if pending:
            _reset_own(c, tid, nt)
        if tid == 0:
            _sources(c, t)
        for k in range(c.n_pops):
            p = &c.pops[k]
            if p.kind == POP_NEURON:
                i0 = _part(p.n, tid, nt)
                c.cnt[tid * c.cnt_stride + k] = neuron_update_range(
                    p.model, p.state, p.n, i0, _part(p.n, tid + 1, nt), p.params,
                    c.seg + c.seg_off[k] + i0)
        _sync(c, nt, sense)
        if tid == 0:
            _gather_team(c, nt, t)
        if not _team_error(c, nt):
            for k in range(c.n_projs):
                pr = &c.projs[k]
                if _parallel_rule(pr) and (pr.rule == RULE_STDP
                                           or pr.rule == RULE_MODULATED):
                    _pre_bumps_team(c, pr, t, tid, nt)
        _sync(c, nt, sense)
        if c.stop == 2:
            if tid == 0:
                c.t = t
            return
        for k in range(c.n_pin):
            p = &c.pops[c.pin[k].pop]
            _poisson_input_range(&c.pin[k], p, t, _part(p.n, tid, nt),
                                 _part(p.n, tid + 1, nt))
        dirty = c.n_pin > 0
        for k in range(c.n_projs):
            pr = &c.projs[k]
            if _parallel_rule(pr):
                _projection_parallel(c, pr, t, tid, nt, sense)
                dirty = 1
            elif pr.rule == RULE_GENERATED and pr.gen_parallel:
                if dirty:
                    _sync(c, nt, sense)
                _generated_parallel(c, pr, t, tid, nt, sense)
                dirty = 1
            else:
                if dirty:
                    _sync(c, nt, sense)
                    dirty = 0
                if tid == 0:
                    _projection_step(pr, c.pops, t)
                _sync(c, nt, sense)
        if dirty and not lean:
            _sync(c, nt, sense)
        t += 1
        pending = 1
    if tid == 0:
        c.t = t       # once: its line also holds what every thread reads each step
    if pending:
        _reset_own(c, tid, nt)


# ----------------------------------------------------------------------------
# Whole-matrix passes between runs on the run's threads (Network.run's weight
# checks, Projection.normalize): serial work between the threaded steps otherwise
# ----------------------------------------------------------------------------
def normalize_columns_threads(const int64_t[::1] indptr, const int32_t[::1] indices,
                              Py_ssize_t n_post, real_t[::1] weights, double target,
                              int nt):
    """SynapseMatrix.normalize_columns on ``nt`` threads, each on its own range of
    columns (_part): the same numbers as one thread (each column's sum over
    ascending synapse ids, its factor, its weights)."""
    cdef Py_ssize_t n_pre = indptr.shape[0] - 1
    cdef int tid, team
    if weights.shape[0] == 0:
        return
    if indices.shape[0] != weights.shape[0] or n_pre < 0 or n_post < 0:
        raise ValueError("indices and weights must have the same length")
    sums = np.empty(max(n_post, 1))
    cdef double[::1] sv = sums
    if not pl_openmp() or nt < 2:
        nt = 1
    with nogil:
        if nt == 1:
            normalize_columns_range(&indptr[0], &indices[0], n_pre, n_post,
                                    &weights[0], target, &sv[0], 0, n_post)
        else:
            with parallel(num_threads=nt):
                tid = threadid()
                team = pl_team_size()
                normalize_columns_range(&indptr[0], &indices[0], n_pre, n_post,
                                        &weights[0], target, &sv[0],
                                        _part(n_post, tid, team),
                                        _part(n_post, tid + 1, team))


def first_nonfinite_threads(const real_t[::1] w, int nt):
    """The first s with w[s] not finite, or -1, on ``nt`` threads (each the first of
    its own part; the lowest of those)."""
    cdef Py_ssize_t n = w.shape[0]
    cdef int tid, team, r
    cdef int64_t best = -1, a, b, f
    if n == 0:
        return -1
    if not pl_openmp() or nt < 2:
        nt = 1
    found = np.full(nt, -1, dtype=np.int64)
    cdef int64_t[::1] fv = found
    with nogil:
        if nt == 1:
            fv[0] = first_nonfinite(&w[0], n)
        else:
            with parallel(num_threads=nt):
                tid = threadid()
                team = pl_team_size()
                a = _part(n, tid, team)
                b = _part(n, tid + 1, team)
                if b > a:
                    f = first_nonfinite(&w[a], b - a)
                    fv[tid] = a + f if f >= 0 else -1
    for r in range(nt):
        if fv[r] >= 0 and (best < 0 or fv[r] < best):
            best = fv[r]
    return best


cdef bint _team_loop = True


def team_loop(enabled=None):
    """Whether runs on more than one thread use the team loop (_run_team) where
    they can; ``team_loop(False)`` keeps them on _run_thread (tests compare both).
    Returns the setting."""
    global _team_loop
    if enabled is not None:
        _team_loop = bool(enabled)
    return _team_loop


def openmp_available():
    """Whether this build of the engine has OpenMP (else it runs on one thread)."""
    return bool(pl_openmp())


cdef void _apply_current(Pop* p, int64_t t) noexcept nogil:
    """Set the injected-current row at step t (before the update of step t)."""
    cdef Py_ssize_t k, pos
    cdef double tt = <double>t, frac
    cdef double* row = p.state + p.cur_var * p.n
    cdef const double* a
    cdef const double* b
    if p.cur_nb == 0 or tt < p.cur_steps[0]:
        return
    pos = p.cur_pos[0]
    while pos + 1 < p.cur_nb and p.cur_steps[pos + 1] <= tt:
        pos += 1
    p.cur_pos[0] = pos
    a = p.cur_vals + pos * p.cur_nsel
    if p.cur_linear and pos + 1 < p.cur_nb:
        b = a + p.cur_nsel
        frac = (tt - p.cur_steps[pos]) / (p.cur_steps[pos + 1] - p.cur_steps[pos])
        for k in range(p.cur_nsel):
            row[p.cur_ids[k]] = a[k] + (b[k] - a[k]) * frac
    else:
        for k in range(p.cur_nsel):
            row[p.cur_ids[k]] = a[k]


cdef class Engine:
    """Compiled network state: arrays of population/projection/monitor descriptors.

    Built by ``plasticity.network.Network``; holds references to every array it
    points into so they stay alive.
    """
    cdef Pop* pops
    cdef Proj* projs
    cdef StateMon* smons
    cdef PInput* pin
    cdef Py_ssize_t n_pops, n_projs, n_smons, n_pin
    cdef list _keep
    cdef public object error
    cdef public int threads     # threads of run_segment (1 without OpenMP)
    cdef public int team        # run_segment calls that ran the team loop (tests)
    cdef public int team_lean   # ... of them without the barrier after projections
    # the last run_segment on > 1 thread: each thread's CPU seconds and wall seconds
    # in the step loop (Network's load watch); None after one on a single thread
    cdef public object thread_cpu
    cdef public object thread_wall

    def __cinit__(self, Py_ssize_t n_pops, Py_ssize_t n_projs, Py_ssize_t n_smons):
        self.pops = <Pop*>calloc(max(n_pops, 1), sizeof(Pop))
        self.projs = <Proj*>calloc(max(n_projs, 1), sizeof(Proj))
        self.smons = <StateMon*>calloc(max(n_smons, 1), sizeof(StateMon))
        if self.pops == NULL or self.projs == NULL or self.smons == NULL:
            raise MemoryError("cannot allocate the engine descriptors")
        self.n_pops = n_pops
        self.n_projs = n_projs
        self.n_smons = n_smons
        self._keep = []
        self.threads = 1
        self.team = 0
        self.team_lean = 0
        self.thread_cpu = None
        self.thread_wall = None

    def __dealloc__(self):
        cdef Py_ssize_t k
        if self.projs != NULL:
            for k in range(self.n_projs):
                pl_line_free(self.projs[k].o1_step)
                free(self.projs[k].r2b_step)
                free(self.projs[k].r1s)
        free(self.pops)
        free(self.projs)
        free(self.smons)
        free(self.pin)

    # -- helpers to take pointers from NumPy arrays (kept alive in self._keep) --
    # (const views: the structure arrays a SynapseMatrix hands over are read-only;
    # the engine never writes those it reads as const in the Proj struct)
    cdef double* _d(self, a):
        cdef const double[::1] v = a
        self._keep.append(a)
        return <double*>&v[0] if v.shape[0] else NULL

    cdef int32_t* _i32(self, a):
        cdef const int32_t[::1] v = a
        self._keep.append(a)
        return <int32_t*>&v[0] if v.shape[0] else NULL

    cdef int64_t* _i64(self, a):
        cdef const int64_t[::1] v = a
        self._keep.append(a)
        return <int64_t*>&v[0] if v.shape[0] else NULL

    def set_population(self, Py_ssize_t k, int kind, int model, Py_ssize_t n,
                       state, params, spikes, int H, hist, hist_n):
        """Describe population k (state (n_vars, n) float64, spike buffer int32 (n))."""
        cdef Pop* p = &self.pops[k]
        p.kind = kind
        p.model = model
        p.n = n
        p.state = self._d(state.reshape(-1)) if state is not None else NULL
        p.n_vars = state.shape[0] if state is not None and state.ndim == 2 else 0
        p.params = self._d(params) if params is not None else NULL
        p.spikes = self._i32(spikes)
        p.n_spikes = 0
        p.H = H
        p.hist = self._i32(hist)
        p.hist_n = self._i64(hist_n)
        p.cur_var = -1
        p.mon = 0

    def add_poisson_input(self, int pop, int row, int ref_row, uint64_t seed, lam,
                          double weight):
        """A Poisson input onto population ``pop`` (a neuron population already
        set): per neuron j and step, Poisson(lam[j]) input spikes (``lam`` float64
        (n), finite, in [0, 1e6]), count * ``weight`` added to state row ``row``;
        ``ref_row`` >= 0: not onto a neuron whose counter in that row is > 0."""
        cdef Pop* p
        cdef PInput* q
        cdef PInput* grown
        cdef const double[::1] L
        cdef double[::1] E
        cdef Py_ssize_t j, n
        if not 0 <= pop < self.n_pops or self.pops[pop].kind != POP_NEURON or \
                self.pops[pop].state == NULL:
            raise ValueError(f"pop must be a neuron population already set, got {pop}")
        p = &self.pops[pop]
        n = p.n
        if not 0 <= row < p.n_vars or ref_row >= p.n_vars:
            raise ValueError(f"row {row} / ref_row {ref_row} out of range for "
                             f"{p.n_vars} variables")
        if not isfinite(weight):
            raise ValueError(f"weight must be finite, got {weight}")
        L = lam
        if L.shape[0] != n:
            raise ValueError(f"lam must have length {n}, got {L.shape[0]}")
        for j in range(n):
            if not (isfinite(L[j]) and 0.0 <= L[j] <= 1e6):
                raise ValueError(f"lam must be finite and in [0, 1e6], got {L[j]} "
                                 f"(neuron {j})")
        elam = np.empty(n, dtype=np.float64)
        E = elam
        for j in range(n):
            E[j] = exp(-L[j])
        grown = <PInput*>realloc(self.pin, (self.n_pin + 1) * sizeof(PInput))
        if grown == NULL:
            raise MemoryError("cannot allocate a Poisson input")
        self.pin = grown
        q = &self.pin[self.n_pin]
        memset(q, 0, sizeof(PInput))
        q.pop = pop
        q.row = row
        q.ref_row = ref_row
        q.seed = seed
        q.weight = weight
        q.uniform = 1
        for j in range(1, n):
            if L[j] != L[0]:
                q.uniform = 0
                break
        pl_pois_setup(&q.par, L[0] if n else 0.0)
        pl_pois_thresholds(&q.thr, q.par.lam, q.par.elam)
        q.lam = self._d(lam) if n else NULL
        q.elam = self._d(elam) if n else NULL
        self.n_pin += 1

    def set_poisson(self, Py_ssize_t k, bit_generator, log1m_p, next_step, heap_key,
                    heap_id):
        """Poisson source state; the heap is rebuilt from ``next_step``."""
        cdef Pop* p = &self.pops[k]
        self._keep.append(bit_generator)
        p.rng = <bitgen_t*>PyCapsule_GetPointer(bit_generator.capsule, "BitGenerator")
        p.log1m_p = self._d(log1m_p)
        p.next_step = self._i64(next_step)
        p.heap_key = self._i64(heap_key)
        p.heap_id = self._i32(heap_id)
        _heap_build(p)

    def poisson_reschedule(self, Py_ssize_t k, int64_t t0):
        """Draw every neuron's first spike at or after step t0 (after a rate change)."""
        cdef Pop* p = &self.pops[k]
        cdef Py_ssize_t i
        cdef int64_t m
        with nogil:
            for i in range(p.n):
                m = _geometric_skip(p.rng, p.log1m_p[i])
                p.next_step[i] = NEVER if m >= NEVER else t0 + m
            _heap_build(p)

    def rebuild_heaps(self):
        cdef Py_ssize_t k
        for k in range(self.n_pops):
            if self.pops[k].kind == POP_POISSON:
                _heap_build(&self.pops[k])

    def set_generator(self, Py_ssize_t k, steps, ids, pos):
        cdef Pop* p = &self.pops[k]
        p.gen_steps = self._i64(steps)
        p.gen_ids = self._i32(ids)
        p.gen_len = steps.shape[0]
        p.gen_pos = self._i64(pos)

    def set_current(self, Py_ssize_t k, int var, bint linear, steps, vals, ids, pos):
        cdef Pop* p = &self.pops[k]
        p.cur_var = var
        p.cur_linear = linear
        p.cur_steps = self._d(steps)
        p.cur_vals = self._d(vals.reshape(-1))
        p.cur_ids = self._i32(ids)
        p.cur_nb = steps.shape[0]
        p.cur_nsel = ids.shape[0]
        p.cur_pos = self._i64(pos)

    def set_spike_monitor(self, Py_ssize_t k, ids, steps, length):
        cdef Pop* p = &self.pops[k]
        p.mon = 1
        p.mon_ids = self._i32(ids)
        p.mon_steps = self._i64(steps)
        p.mon_cap = ids.shape[0]
        p.mon_len = self._i64(length)

    def set_state_monitor(self, Py_ssize_t k, int pop, rows, ids, int64_t every,
                          buf, steps, length):
        cdef StateMon* m = &self.smons[k]
        m.pop = pop
        m.rows = self._i32(rows)
        m.nvars = rows.shape[0]
        m.ids = self._i32(ids)
        m.nids = ids.shape[0]
        m.every = every
        m.buf = self._d(buf.reshape(-1))
        m.steps = self._i64(steps)
        m.cap = steps.shape[0]
        m.length = self._i64(length)

    def set_projection(self, Py_ssize_t k, int pre, int post, int target, syn,
                       int delay_mode, int delay, int max_delay, dperm, dstart):
        """Describe projection k over a SynapseMatrix-like object ``syn``."""
        cdef Proj* pr = &self.projs[k]
        pr.pre = pre
        pr.post = post
        pr.target = target
        pr.n_pre = syn.n_pre
        pr.n_post = syn.n_post
        pr.indptr = self._i64(syn.indptr)
        pr.indices = self._i32(syn.indices)
        pr.post_ptr = self._i64(syn.post_ptr)
        pr.post_syn = self._i32(syn.post_syn)
        pr.post_pre = self._i32(syn.post_pre)
        w = syn.weights
        if w.dtype == np.float64:
            pr.is64 = 1
            pr.w64 = self._d(w)
        else:
            pr.is64 = 0
            self._keep.append(w)
            pr.w32 = _f32_ptr(w)
        pr.delay_mode = delay_mode
        pr.delay = delay
        pr.max_delay = max_delay
        if delay_mode == DELAY_PER_SYNAPSE:
            pr.dperm = self._i32(dperm)
            pr.dstart = self._i64(dstart)
        pr.dsplit = NULL
        pr.dsplit_nt = 0
        pr.rule = RULE_NONE
        pr.ref_row = -1
        pr.post_delay = 0

    def set_delay_splits(self, Py_ssize_t k, splits, int nt):
        """Projection k (per-synapse delays) gets delay_splits(..., nt) (kept alive
        here): used by runs whose team has exactly ``nt`` threads."""
        cdef Proj* pr = &self.projs[k]
        if not 0 <= k < self.n_projs:
            raise IndexError(f"projection index {k} out of range")
        if pr.delay_mode != DELAY_PER_SYNAPSE or nt < 2:
            raise ValueError("delay splits need per-synapse delays and nt >= 2")
        flat = np.ascontiguousarray(splits, dtype=np.int32).reshape(-1)
        if flat.shape[0] != pr.n_pre * (pr.max_delay + 1) * (nt - 1):
            raise ValueError(f"splits must have n_pre * (max_delay + 1) * (nt - 1) = "
                             f"{pr.n_pre * (pr.max_delay + 1) * (nt - 1)} entries, got "
                             f"{flat.shape[0]}")
        pr.dsplit = self._i32(flat)
        pr.dsplit_nt = nt

    def delay_split_threads(self, Py_ssize_t k):
        """The team size projection k's split table is for (0: none; tests)."""
        if not 0 <= k < self.n_projs:
            raise IndexError(f"projection index {k} out of range")
        return self.projs[k].dsplit_nt

    def set_refractory_row(self, Py_ssize_t k, int row):
        """Projection k targets a v held while refractory: ``row`` is the post
        population's refractory counter (-1: none); input arriving at a post neuron
        whose counter is > 0 is not delivered (the rule's updates still run)."""
        if not 0 <= k < self.n_projs:
            raise IndexError(f"projection index {k} out of range")
        self.projs[k].ref_row = row

    def set_stdp(self, Py_ssize_t k, StdpParameters params not None, bint per_syn, x1,
                 x2, xl, y1, y2, yl, tab_plus, tab_minus):
        """Attach a built-in STDP rule (its parameters, trace arrays, decay tables
        from ``decay_table``)."""
        cdef Proj* pr = &self.projs[k]
        pr.sp = params.p
        pr.tab_plus = self._d(tab_plus)
        pr.tab_minus = self._d(tab_minus)
        pr.K_plus = tab_plus.shape[0]
        pr.K_minus = tab_minus.shape[0]
        pr.use_x2 = pr.sp.triplet and pr.sp.a3_minus != 0.0
        pr.use_y2 = pr.sp.triplet and pr.sp.a3_plus != 0.0
        pr.rule = RULE_STDP
        pr.per_syn = per_syn
        if per_syn and pr.delay_mode == DELAY_PER_SYNAPSE and pr.o1_step == NULL:
            # on whole 64-byte lines: each thread fills its own neurons' (_part)
            pr.o1_step = <double*>pl_line_calloc(max(pr.n_post, 1) * sizeof(double))
            if pr.o1_step == NULL:
                raise MemoryError("cannot allocate the engine's trace scratch")
        if pr.use_x2 and not per_syn and pr.r2b_step == NULL:
            pr.r2b_step = <double*>calloc(max(pr.n_pre, 1), sizeof(double))
            if pr.r2b_step == NULL:
                raise MemoryError("cannot allocate the engine's trace scratch")
        pr.x1 = self._d(x1)
        pr.x2 = self._d(x2)
        pr.xl = self._i64(xl)
        pr.y1 = self._d(y1)
        pr.y2 = self._d(y2)
        pr.yl = self._i64(yl)

    def set_post_delay(self, Py_ssize_t k, int steps):
        """Projection k's built-in STDP rule or rule-language rule (set_stdp or
        set_generated_rule first) runs the post-side updates of a post spike
        ``steps`` steps after it (>= 0), from the post population's spike history,
        which must hold more than ``steps`` steps."""
        cdef Proj* pr = &self.projs[k]
        if not 0 <= k < self.n_projs:
            raise IndexError(f"projection index {k} out of range")
        if pr.rule != RULE_STDP and pr.rule != RULE_MODULATED and \
                pr.rule != RULE_GENERATED:
            raise ValueError("a post delay needs a built-in STDP rule or a rule-language "
                             "rule (set_stdp or set_generated_rule first)")
        if steps < 0:
            raise ValueError(f"post delay must be >= 0 steps, got {steps}")
        if steps > 0 and self.pops[pr.post].H <= steps:
            raise ValueError(f"a post delay of {steps} steps needs a spike history of "
                             f"more than {steps} steps on the post population, it has "
                             f"{self.pops[pr.post].H}")
        pr.post_delay = steps

    def set_modulation(self, Py_ssize_t k, elig, mod_d, double dec_c, double dec_d,
                       double gain, rew_steps, rew_amt, rew_pos):
        cdef Proj* pr = &self.projs[k]
        pr.rule = RULE_MODULATED
        pr.elig = self._d(elig)
        pr.mod_d = self._d(mod_d)
        pr.dec_c = dec_c
        pr.dec_d = dec_d
        pr.mod_gain = gain
        pr.rew_steps = self._i64(rew_steps)
        pr.rew_amt = self._d(rew_amt)
        pr.rew_len = rew_steps.shape[0]
        pr.rew_pos = self._i64(rew_pos)

    def set_post_order(self, Py_ssize_t k, wp, pos):
        """Use ``wp`` (weights gathered in post order) and ``pos`` for projection k."""
        cdef Proj* pr = &self.projs[k]
        if pr.rule != RULE_STDP:
            raise ValueError("post-ordered weights are for built-in STDP rules only")
        if wp.dtype != (np.float64 if pr.is64 else np.float32):
            raise TypeError("wp must have the dtype of the weights")
        if pr.is64:
            pr.wp64 = self._d(wp)
        else:
            self._keep.append(wp)
            pr.wp32 = _f32_ptr(wp)
        pr.pos = self._i32(pos)
        pr.wpost = 1
        pr.wide = pr.indptr[pr.n_pre] >= _simd_min_synapses if pr.n_pre > 0 else 0
        if pr.r1s == NULL and not pr.per_syn and pr.wide and pl_avx512_ok():
            pr.r1s = <double*>calloc(max(pr.n_pre, 1), sizeof(double))
            if pr.r1s == NULL:
                raise MemoryError("cannot allocate the engine's trace scratch")
        pr.r1s_t = -1

    def set_custom_rule(self, Py_ssize_t k, capsule):
        """Attach a user's compiled rule (a PyCapsule "plasticity.CustomRule")."""
        cdef Proj* pr = &self.projs[k]
        cdef CustomRule* c = <CustomRule*>PyCapsule_GetPointer(capsule,
                                                               "plasticity.CustomRule")
        if c.on_pre_synapse == NULL or c.on_post_synapse == NULL or \
                c.after_pre == NULL or c.after_post == NULL:
            raise ValueError("a CustomRule needs on_pre_synapse, after_pre, "
                             "on_post_synapse and after_post")
        if pr.delay_mode == DELAY_PER_SYNAPSE:
            raise ValueError("compiled custom rules do not support per-synapse delays "
                             "(use a homogeneous delay, or a built-in or Python rule)")
        self._keep.append(capsule)
        pr.custom = c
        pr.rule = RULE_CUSTOM

    def set_generated_rule(self, Py_ssize_t k, size_t fn, ctx, scratch, signal_slots,
                           signal_pops, bint by_post_range=False, phases=None):
        """Attach a rule of the rule language: ``fn`` the address of its compiled
        step function, ``ctx`` (uint64) the addresses it reads (Layout), ``scratch``
        int32 room for one step's arriving synapse ids (per-synapse delays); slot
        ``signal_slots[m]`` of ctx gets the address of population
        ``signal_pops[m]``'s spike count of the step. ``by_post_range``: its per-synapse
        work may run per postsynaptic range on the threads (no per-synapse statement
        writes a shared variable). ``phases``: the phases (0-6) of the step function
        that have code (default: all); on threads the others are left out with
        their barriers."""
        cdef Proj* pr = &self.projs[k]
        cdef uint64_t[::1] c = ctx
        cdef Py_ssize_t m
        cdef int mask = 0x7F
        if fn == 0:
            raise ValueError("the rule's step function address is NULL")
        if phases is not None:
            mask = 1
            for m in phases:
                if not 0 <= m <= 6:
                    raise ValueError(f"phases must be in 0..6, got {list(phases)}")
                mask |= 1 << m
        for m in range(len(signal_slots)):
            if not 0 <= signal_pops[m] < self.n_pops:
                raise ValueError(f"signal population index {signal_pops[m]} out of range")
            c[signal_slots[m]] = <uint64_t><size_t>&self.pops[signal_pops[m]].n_spikes
        self._keep.append(ctx)
        pr.gen_fn = <gen_step_fn><void*>fn
        pr.gen_ctx = <void**>&c[0]
        pr.gen_arr = self._i32(scratch)
        pr.gen_parallel = by_post_range
        pr.gen_phases = mask
        pr.rule = RULE_GENERATED

    def set_snapshot(self, Py_ssize_t k, snap):
        """Copy population k's state into ``snap`` after its update at every step,
        before the resets: what Python rules read as the state at a spike."""
        cdef Pop* p = &self.pops[k]
        p.n_vars = snap.shape[0] // max(p.n, 1)
        p.snap = self._d(snap)

    def set_python_snapshots(self, Py_ssize_t k, post_snap, pre_snap):
        """Python rule k: copy its post population's state into ``post_snap`` (and,
        unless None, its pre population's into ``pre_snap``) right after the
        projection's deliveries of every step, before the resets: the neuron values
        of the step at this projection's turn (earlier projections' deliveries in,
        later ones' not), as a compiled rule of the rule language reads them."""
        cdef Proj* pr = &self.projs[k]
        cdef Pop* post = &self.pops[pr.post]
        cdef Pop* pre = &self.pops[pr.pre]
        if post_snap.shape[0] != post.n_vars * post.n:
            raise ValueError(f"post_snap must hold {post.n_vars * post.n} values, got "
                             f"{post_snap.shape[0]}")
        pr.py_snap_post = self._d(post_snap)
        if pre_snap is None:
            pr.py_snap_pre = NULL
        else:
            if pre.kind != POP_NEURON or pre_snap.shape[0] != pre.n_vars * pre.n:
                raise ValueError(f"pre_snap must hold {pre.n_vars * pre.n} values of a "
                                 f"neuron population, got {pre_snap.shape[0]}")
            pr.py_snap_pre = self._d(pre_snap)

    def set_python_rule(self, Py_ssize_t k, arr, arr_n, bint deliver=True):
        cdef Proj* pr = &self.projs[k]
        pr.rule = RULE_PYTHON
        pr.py_deliver = deliver
        pr.arr = self._i32(arr)
        pr.arr_n = self._i64(arr_n)

    def n_spikes(self, Py_ssize_t k):
        """Number of spikes population k emitted in the last step."""
        return self.pops[k].n_spikes

    def run_segment(self, int64_t t0, int64_t t1):
        """Run steps t0 .. t1-1; return the first step not run.

        Stops early after a step that leaves a spike monitor without room for one
        more step, or fills a state-monitor buffer. On a non-finite state value,
        ``self.error`` is set to (population, flat index, step) and the step is
        returned. Runs on ``self.threads`` threads (OpenMP; one without it): the
        same numbers for any number.
        """
        cdef Ctx c
        cdef int nt = self.threads if pl_openmp() else 1
        cdef Py_ssize_t k
        cdef Proj* pr
        cdef Py_ssize_t n
        cdef bint team
        if nt < 1:
            nt = 1
        if t1 - t0 < 2:      # the per-step path: not worth waking the threads
            nt = 1
        c.pops = self.pops
        c.projs = self.projs
        c.smons = self.smons
        c.n_pops = self.n_pops
        c.n_projs = self.n_projs
        c.n_smons = self.n_smons
        c.pin = self.pin
        c.n_pin = self.n_pin
        c.t = t0
        c.t1 = t1
        c.go = 0
        c.stop = 0
        c.err_pop = -1
        c.err_code = 0
        c.cnt_stride = (max(self.n_pops, 1) + 7) // 8 * 8
        c.cnt = <Py_ssize_t*>pl_line_calloc(nt * c.cnt_stride * sizeof(Py_ssize_t))
        if c.cnt == NULL:
            raise MemoryError("cannot allocate the engine's thread scratch")
        for k in range(self.n_projs):
            pr = &self.projs[k]
            pr.ref = self.pops[pr.post].state + pr.ref_row * self.pops[pr.post].n \
                if pr.ref_row >= 0 else NULL
        # the team loop where nothing needs thread 0 between the resets and the
        # updates (state monitors record, currents are set there)
        team = nt > 1 and _team_loop and self.n_smons == 0
        for k in range(self.n_pops):
            if self.pops[k].cur_var >= 0:
                team = False
        c.seg = NULL
        c.seg_off = NULL
        if team:
            c.seg_off = <Py_ssize_t*>calloc(max(self.n_pops, 1), sizeof(Py_ssize_t))
            n = 0
            for k in range(self.n_pops):
                if c.seg_off != NULL:
                    c.seg_off[k] = n
                if self.pops[k].kind == POP_NEURON:
                    n += self.pops[k].n
            c.seg = <int32_t*>calloc(max(n, 1), sizeof(int32_t))
            if c.seg == NULL or c.seg_off == NULL:
                free(c.seg)
                free(c.seg_off)
                pl_line_free(c.cnt)
                raise MemoryError("cannot allocate the engine's thread scratch")
        self.team += team
        if team:
            self.team_lean += _team_lean(&c)
        self.error = None
        cpu = np.zeros(nt)
        wall = np.zeros(nt)
        cdef double[::1] cpu_v = cpu
        cdef double[::1] wall_v = wall
        cdef double w0, c0
        cdef int tid
        cdef unsigned long long fp_mode = 0
        cdef bint ftz = _flush_denormals
        try:
            with nogil:
                # flush-to-zero on every thread of the loop (_threads.h, pl_ftz_enter)
                if nt == 1:
                    if ftz:
                        fp_mode = pl_ftz_enter()
                    _run_thread(&c, 0, 1)
                    if ftz:
                        pl_ftz_leave(fp_mode)
                else:
                    with parallel(num_threads=nt):
                        tid = threadid()
                        if ftz:
                            fp_mode = pl_ftz_enter()
                        w0 = pl_wall_seconds()
                        c0 = pl_thread_seconds()
                        if team:
                            _run_team(&c, tid, pl_team_size())
                        else:
                            _run_thread(&c, tid, pl_team_size())
                        cpu_v[tid] = pl_thread_seconds() - c0
                        wall_v[tid] = pl_wall_seconds() - w0
                        if ftz:
                            pl_ftz_leave(fp_mode)
        finally:
            pl_line_free(c.cnt)
            free(c.seg)
            free(c.seg_off)
        # threads OpenMP did not give (a smaller team) stay at 0: left out
        self.thread_cpu = cpu[wall > 0] if nt > 1 else None
        self.thread_wall = wall[wall > 0] if nt > 1 else None
        if c.err_pop >= 0:
            self.error = (c.err_pop, c.err_code, c.t)
        return c.t


cdef float* _f32_ptr(a):
    cdef float[::1] v = a
    return &v[0] if v.shape[0] else NULL
