# Convolutional STDP kernels (Kheradpisheh et al. 2018), event-driven and GIL-free.
#
# Spike waves are stored as first-spike times: int16 arrays (B, C, H, W) whose value is
# the time step (0 .. T-1) of the neuron's single spike, or T for "never fired". The
# cumulative wave of the paper is S[t] = (times <= t). Because a non-leaky IF neuron's
# potential at step t is the convolution of the cumulative wave S[t], its increment at
# step t is the convolution of the spikes emitted exactly at t; so all T steps of a
# layer cost one pass over the input spikes (each scattered once into the potentials
# of the neurons whose receptive field contains it) plus a threshold scan of the
# locations touched at each step. Convolutions are "valid" over a zero-padded input
# (`pad` on each side), stride 1; kernels are stored (C, kh, kw, F) so the innermost
# loop runs over the F maps contiguously.
#
# The w(1-w) weight dependence and the clipping are the rule library's (rules.pxd):
# the STDP parameters arrive as rules.StdpParameters built by plasticity.rules.STDP(
# Pair(...), Kheradpisheh(0, 1)).kernel_parameters(1.0).
from libc.stdlib cimport malloc, free, calloc
from libc.string cimport memset
from libc.math cimport INFINITY
from libc.stdint cimport int16_t, int32_t, int64_t
from cython.parallel cimport parallel, prange, threadid

from plasticity._ext.rules cimport StdpParams, StdpParameters, f_plus, f_minus, clip_weight

# OpenMP where the build found it (setup.py compiles this module with -fopenmp when a
# tiny OpenMP program compiles and links, as it does the engine); without it the
# parallel blocks run once, on one thread, and these are no-ops.
# the engine's barrier and team helpers (_threads.h)
cdef extern from "_threads.h":
    ctypedef struct pl_bar_t:
        int count
        int sense
        int n
    void pl_bar_wait(pl_bar_t* b, int* local_sense) noexcept nogil
    ctypedef struct pl_fbar_t:
        int n
    void pl_fbar_init(pl_fbar_t* b, int n, int spin) noexcept nogil
    void pl_fbar_wait(pl_fbar_t* b, int* local_sense) noexcept nogil
    int pl_online_cpus() noexcept nogil
    void pl_barrier() noexcept nogil
    int pl_team_size() noexcept nogil
    int pl_openmp() noexcept nogil


def openmp_available():
    """Whether this build of the conv kernels has OpenMP (else they run on one thread)."""
    return bool(pl_openmp())


# Threads. Where the weights do not change (forward, pool_first, global_max) the
# images of a batch are shared out over the threads, each image on one thread with its
# own work buffers. In train (the weights change after every image) every thread works
# on the same image: thread tid of n owns the output rows tid, tid + n, ...: it
# scatters the input spikes into its rows only, scans them against the threshold,
# applies the lateral inhibition there and lists their surviving spikes; after a
# barrier every thread selects the same winners from all the lists and applies their
# STDP update to its own copy of the kernels, then goes on to the next image (one
# barrier per image; see train). Every potential receives the same additions in the same order, and every
# weight the same updates, whatever the number of threads: the results are the same,
# bit for bit.


cdef Py_ssize_t _sort_input(const int16_t* tin, int C, int H, int W, int T,
                            int32_t* spk, int32_t* count) noexcept nogil:
    """One image's input spikes bucketed by time (counting sort, stable in the flat
    index (c, y, x)): spike s of the sorted list is at spk[3 s .. 3 s + 2] = c, y, x
    (spk: 3 C H W entries); count (T + 1 entries) receives the ends of the buckets:
    bucket t is spk[3 count[t-1] .. 3 count[t]) (from 0 for t = 0). Returns the
    number of spikes."""
    cdef Py_ssize_t n_in = <Py_ssize_t>C * H * W, i, q
    cdef int t, c, y, x
    cdef int16_t ti
    memset(count, 0, (T + 1) * sizeof(int32_t))
    for i in range(n_in):
        ti = tin[i]
        if ti < T:
            count[ti + 1] += 1
    for t in range(T):
        count[t + 1] += count[t]
    i = 0
    for c in range(C):
        for y in range(H):
            for x in range(W):
                ti = tin[i]
                i += 1
                if ti < T:
                    q = 3 * <Py_ssize_t>count[ti]
                    spk[q] = c
                    spk[q + 1] = y
                    spk[q + 2] = x
                    count[ti] += 1
    return count[T - 1]


cdef int _forward_rows(const int32_t* spk, const int32_t* count, int C, int H, int W,
                       const float* wt, int kh, int kw, int F,
                       double threshold, int T, int pad, int inhibit,
                       int16_t* tout, float* vout, Py_ssize_t sf, Py_ssize_t sl,
                       int row0, int rstep,
                       float* V, int32_t* dirty, char* isdirty, int32_t* fired,
                       int32_t* fsorted, int32_t* fend) noexcept nogil:
    """One image: first-spike times and potentials of a conv layer of IF neurons, for
    the output rows row0, row0 + rstep, ... (all: 0, 1).

    spk, count: the image's input spikes (C, H, W) sorted by time (``_sort_input``);
    wt (C, kh, kw, F); outputs tout, vout, element (f, y, x) at f sf + (y Wo + x) sl
    ((F, Ho, Wo): sf = Ho Wo, sl = 1): vout is the potential at the spike step for
    neurons that fired, the final potential V(T-1) otherwise. Work buffers: V
    (Ho*Wo*F, only these rows are touched), dirty (Ho*Wo), isdirty (Ho*Wo).
    ``fired`` (or NULL; with ``inhibit``) receives the flat index f Ho Wo + y Wo + x
    of each spike left after the inhibition, in location order; and then, where
    ``fsorted`` is not NULL, fsorted receives the same indices sorted by spike time
    (stable), fend (T + 1 entries) the ends of the time buckets (bucket t is
    fsorted[fend[t-1] .. fend[t]), from 0 for t = 0). Returns the number of output
    spikes of these rows (after inhibition)."""
    cdef int Ho = H + 2 * pad - kh + 1
    cdef int Wo = W + 2 * pad - kw + 1
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo
    cdef Py_ssize_t i, j, s, loc, e
    cdef int t, c, y, x, dy, dx, oy, ox, f, n_dirty, best, n_spk = 0
    cdef int oy_hi, dx_lo, dx_hi
    cdef const float* wrow
    cdef float* vrow
    cdef float thr = <float>threshold
    cdef int16_t ti
    cdef int16_t tb = 0
    cdef float vb = 0
    if Ho <= 0 or Wo <= 0:
        return 0
    oy = row0
    while oy < Ho:
        memset(V + <Py_ssize_t>oy * Wo * F, 0, <Py_ssize_t>Wo * F * sizeof(float))
        for ox in range(Wo):
            loc = <Py_ssize_t>oy * Wo + ox
            isdirty[loc] = 0
            for f in range(F):
                tout[f * sf + loc * sl] = <int16_t>T
        oy += rstep
    # each input spike adds its weights to the potentials of the neurons whose
    # receptive field contains it: output rows y + pad - kh + 1 .. y + pad (those of
    # this thread), columns x + pad - kw + 1 .. x + pad; every potential receives
    # its additions in the order of the sorted spikes, whatever the rows
    s = 0
    for t in range(T):
        n_dirty = 0
        while s < count[t]:
            c = spk[3 * s]
            y = spk[3 * s + 1]
            x = spk[3 * s + 2]
            s += 1
            oy = y + pad - kh + 1
            if oy < 0:
                oy = 0
            oy_hi = y + pad
            if oy_hi > Ho - 1:
                oy_hi = Ho - 1
            # the first of this thread's rows at or after oy
            oy += ((row0 - oy) % rstep + rstep) % rstep
            dx_lo = x + pad - Wo + 1
            if dx_lo < 0:
                dx_lo = 0
            dx_hi = x + pad
            if dx_hi > kw - 1:
                dx_hi = kw - 1
            while oy <= oy_hi:
                dy = y + pad - oy
                for dx in range(dx_lo, dx_hi + 1):
                    ox = x + pad - dx
                    loc = <Py_ssize_t>oy * Wo + ox
                    vrow = V + loc * F
                    wrow = wt + ((<Py_ssize_t>c * kh + dy) * kw + dx) * F
                    for f in range(F):
                        vrow[f] += wrow[f]
                    if not isdirty[loc]:
                        isdirty[loc] = 1
                        dirty[n_dirty] = <int32_t>loc
                        n_dirty += 1
                oy += rstep
        # threshold scan of the locations that received input at this step
        for j in range(n_dirty):
            loc = dirty[j]
            isdirty[loc] = 0
            vrow = V + loc * F
            for f in range(F):
                e = f * sf + loc * sl
                if vrow[f] >= thr and tout[e] == T:
                    tout[e] = <int16_t>t
                    vout[e] = vrow[f]
    # per location: the final potential of the neurons that never fired, then the
    # lateral (pointwise) inhibition: one spike across maps, the earliest; ties to the
    # highest potential, then to the lowest map index
    if fsorted != NULL:
        memset(fend, 0, (T + 1) * sizeof(int32_t))
    oy = row0
    while oy < Ho:
        for ox in range(Wo):
            loc = <Py_ssize_t>oy * Wo + ox
            vrow = V + loc * F
            best = -1
            for f in range(F):
                e = f * sf + loc * sl
                ti = tout[e]
                if ti >= T:
                    vout[e] = vrow[f]
                    continue
                if best < 0 or ti < tb or (ti == tb and vout[e] > vb):
                    best = f
                    tb = ti
                    vb = vout[e]
            if best < 0:
                continue
            if inhibit:
                for f in range(F):
                    if f != best:
                        tout[f * sf + loc * sl] = <int16_t>T
                if fired != NULL:
                    fired[n_spk] = <int32_t>(best * n_loc + loc)
                    if fsorted != NULL:
                        fend[tb + 1] += 1
                n_spk += 1
            else:
                for f in range(F):
                    if tout[f * sf + loc * sl] < T:
                        n_spk += 1
        oy += rstep
    if inhibit and fired != NULL and fsorted != NULL:
        # the surviving spikes bucketed by time (counting sort, stable)
        for t in range(T):
            fend[t + 1] += fend[t]
        for j in range(n_spk):
            i = fired[j]
            f = <int>(i // n_loc)
            ti = tout[f * sf + (i - f * n_loc) * sl]
            fsorted[fend[ti]] = <int32_t>i
            fend[ti] += 1
    return n_spk


cdef inline bint _near_winner(const int32_t* out, int n_win, int y, int x,
                              int r) noexcept nogil:
    """Whether (y, x) lies in the (2r+1)^2 neighbourhood of one of the n_win winners
    in out (rows map, y, x, t): blocked in every map."""
    cdef int m
    for m in range(n_win):
        if y - out[4 * m + 1] <= r and out[4 * m + 1] - y <= r \
                and x - out[4 * m + 2] <= r and out[4 * m + 2] - x <= r:
            return True
    return False


cdef int _select_winners(const int16_t* tsp, const float* v, Py_ssize_t sf, Py_ssize_t sl,
                         int F, int Ho, int Wo, int T, const int32_t* cand,
                         Py_ssize_t cstride, const int32_t* ncand, int nlists, int k, int r,
                         char* mapblk, int32_t* out) noexcept nogil:
    """k winners among the candidates (flat indices f Ho Wo + y Wo + x of neurons that
    may have fired; ``nlists`` lists, list L at cand + L cstride with ncand[L]
    entries, in any order): repeatedly the earliest spike among non-blocked neurons
    (ties: highest potential, then lowest flat index); each winner blocks its whole
    map and the (2r+1)^2 neighbourhood in every map. Element (f, y, x) of tsp, v at
    f sf + (y Wo + x) sl. out[4*j .. 4*j+3] = f, y, x, t. Returns the number of
    winners."""
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo, e, loc
    cdef int j, L, q, f, y, x, n_win = 0
    cdef int32_t i, bi
    cdef int16_t ti, tb = 0
    cdef float vi, vb = 0
    memset(mapblk, 0, F)
    for j in range(k):
        bi = -1
        for L in range(nlists):
            for q in range(ncand[L]):
                i = cand[L * cstride + q]
                f = <int>(i // n_loc)
                if mapblk[f]:
                    continue
                loc = i - f * n_loc
                e = f * sf + loc * sl
                ti = tsp[e]
                if ti >= T:
                    continue
                y = <int>(loc // Wo)
                x = <int>(loc - <Py_ssize_t>y * Wo)
                if _near_winner(out, n_win, y, x, r):
                    continue
                vi = v[e]
                if bi < 0 or ti < tb or (ti == tb and (vi > vb or (vi == vb and i < bi))):
                    bi = i
                    tb = ti
                    vb = vi
        if bi < 0:
            break
        f = <int>(bi // n_loc)
        loc = bi - f * n_loc
        out[4 * n_win] = f
        out[4 * n_win + 1] = <int>(loc // Wo)
        out[4 * n_win + 2] = <int>(loc % Wo)
        out[4 * n_win + 3] = tb
        n_win += 1
        mapblk[f] = 1
    return n_win


cdef int _select_bucketed(const int16_t* tsp, const float* v, Py_ssize_t sf,
                          Py_ssize_t sl, int F, int Ho, int Wo, int T,
                          const int32_t* cand, Py_ssize_t cstride, const int32_t* bend,
                          Py_ssize_t bstride, int nlists, int k, int r, char* mapblk,
                          int32_t* out) noexcept nogil:
    """The winners of ``_select_winners`` from candidates bucketed by spike time:
    list L (L < nlists) at cand + L cstride, its bucket t (the candidates that fired
    at step t, in any order) cand[L cstride + bend[L bstride + t - 1] ..
    L cstride + bend[L bstride + t]) (from 0 for t = 0). The winner the repeated
    search takes is the earliest non-blocked spike, and blocking only grows: every
    candidate earlier than a winner is blocked for good. So the buckets are taken in
    time order, and within a bucket the non-blocked spike of highest potential
    (ties: lowest flat index) wins, again and again until none is left: each search
    reads one bucket, not every candidate. Same arguments and result otherwise."""
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo, e, loc, q, q0, q1
    cdef int t, L, f, y, x, n_win = 0, by = 0, bx = 0
    cdef int32_t i, bi
    cdef float vi, vb = 0
    memset(mapblk, 0, F)
    for t in range(T):
        if n_win >= k:
            break
        while n_win < k:
            bi = -1
            for L in range(nlists):
                q0 = 0 if t == 0 else bend[L * bstride + t - 1]
                q1 = bend[L * bstride + t]
                for q in range(q0, q1):
                    i = cand[L * cstride + q]
                    f = <int>(i // n_loc)
                    if mapblk[f]:
                        continue
                    loc = i - f * n_loc
                    y = <int>(loc // Wo)
                    x = <int>(loc - <Py_ssize_t>y * Wo)
                    if _near_winner(out, n_win, y, x, r):
                        continue
                    e = f * sf + loc * sl
                    vi = v[e]
                    if bi < 0 or vi > vb or (vi == vb and i < bi):
                        bi = i
                        vb = vi
                        by = y
                        bx = x
            if bi < 0:
                break
            f = <int>(bi // n_loc)
            out[4 * n_win] = f
            out[4 * n_win + 1] = by
            out[4 * n_win + 2] = bx
            out[4 * n_win + 3] = t
            n_win += 1
            mapblk[f] = 1
    return n_win


cdef void _stdp_channels(const int16_t* tin, int C, int H, int W, float* wt, int kh,
                         int kw, int F, int pad, int T, const int32_t* win, int n_win,
                         const StdpParams* p, int c0, int cstep) noexcept nogil:
    """Weight-shared STDP for each winner in turn, on the kernels' input channels
    c0, c0 + cstep, ... (all: 0, 1): w += a+ f+(w) if the input fired at or before the
    winner (t_in <= t_win), else w -= a- f-(w); clipped to [w_min, w_max]. Inputs in
    the zero padding never fire."""
    cdef int j, f, y, x, tw, c, dy, dx, iy, ix, ti
    cdef Py_ssize_t q
    cdef double w
    for j in range(n_win):
        f = win[4 * j]
        y = win[4 * j + 1]
        x = win[4 * j + 2]
        tw = win[4 * j + 3]
        c = c0
        while c < C:
            for dy in range(kh):
                iy = y + dy - pad
                for dx in range(kw):
                    ix = x + dx - pad
                    if iy < 0 or iy >= H or ix < 0 or ix >= W:
                        ti = T
                    else:
                        ti = tin[(<Py_ssize_t>c * H + iy) * W + ix]
                    q = ((<Py_ssize_t>c * kh + dy) * kw + dx) * F + f
                    w = wt[q]
                    if ti <= tw:
                        w = w + p.a_plus * f_plus(p, w)
                    else:
                        w = w - p.a_minus * f_minus(p, w)
                    wt[q] = <float>clip_weight(p, w)
            c += cstep


def out_shape(int H, int W, int kh, int kw, int pad):
    return H + 2 * pad - kh + 1, W + 2 * pad - kw + 1


cdef void _transpose(const int16_t* tl, const float* vl, Py_ssize_t n_loc, int F,
                     int16_t* tout, float* vout) noexcept nogil:
    """(n_loc, F) -> (F, n_loc), spike times and (vout not NULL) potentials."""
    cdef Py_ssize_t loc
    cdef int f
    for f in range(F):
        for loc in range(n_loc):
            tout[f * n_loc + loc] = tl[loc * F + f]
    if vout != NULL:
        for f in range(F):
            for loc in range(n_loc):
                vout[f * n_loc + loc] = vl[loc * F + f]


cdef int _threads(int threads, Py_ssize_t units) noexcept nogil:
    """Threads to use: ``threads`` (>= 1), at most one per unit of work, 1 without
    OpenMP."""
    if not pl_openmp() or threads < 1:
        return 1
    if units < threads:
        return <int>units if units > 1 else 1
    return threads


def forward(const int16_t[:, :, :, ::1] tin, const float[:, :, :, ::1] wt,
            double threshold, int T, int pad, bint inhibit,
            int16_t[:, :, :, ::1] tout, float[:, :, :, ::1] vout, int threads=1):
    """Conv layer of IF neurons for a batch, without the GIL; the images are shared out
    over ``threads`` threads (OpenMP; one without it).

    tin (B, C, H, W) spike times (T = never); wt (C, kh, kw, F); tout, vout
    (B, F, Ho, Wo) are written: first-spike times (after the pointwise lateral
    inhibition when ``inhibit``) and potentials (at the spike step for neurons that
    fired, else the final potential; vout None: not wanted, the times are the same).
    threshold may be inf (potentials only). Returns the number of output spikes."""
    cdef int B = tin.shape[0], C = tin.shape[1], H = tin.shape[2], W = tin.shape[3]
    cdef int kh = wt.shape[1], kw = wt.shape[2], F = wt.shape[3]
    cdef int Ho = H + 2 * pad - kh + 1, Wo = W + 2 * pad - kw + 1
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo, n_in = <Py_ssize_t>C * H * W, b
    cdef int nt, tid
    cdef bint want_v = vout is not None
    cdef float* vbase = NULL
    if wt.shape[0] != C:
        raise ValueError(f"kernels have {wt.shape[0]} input channels, input has {C}")
    if tout.shape[0] != B or tout.shape[1] != F or tout.shape[2] != Ho or tout.shape[3] != Wo \
            or (want_v and (vout.shape[0] != B or vout.shape[1] != F
                            or vout.shape[2] != Ho or vout.shape[3] != Wo)):
        raise ValueError(f"outputs must have shape {(B, F, Ho, Wo)}")
    if T < 1 or T > 32000:
        raise ValueError(f"T must be in [1, 32000], got {T}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if B == 0 or Ho <= 0 or Wo <= 0:
        return 0
    nt = _threads(threads, B)
    if want_v:
        vbase = &vout[0, 0, 0, 0]
    cdef Py_ssize_t nv = n_loc * F
    cdef float* V = <float*>malloc(nt * nv * sizeof(float))
    cdef float* vl = <float*>malloc(nt * nv * sizeof(float))
    cdef int16_t* tl = <int16_t*>malloc(nt * nv * sizeof(int16_t))
    cdef int32_t* order = <int32_t*>malloc(nt * (3 * n_in + 1) * sizeof(int32_t))
    cdef int32_t* count = <int32_t*>malloc(nt * (T + 1) * sizeof(int32_t))
    cdef int32_t* dirty = <int32_t*>malloc(nt * n_loc * sizeof(int32_t))
    cdef char* isdirty = <char*>malloc(nt * n_loc)
    cdef int64_t total = 0
    if (V == NULL or vl == NULL or tl == NULL or order == NULL or count == NULL
            or dirty == NULL or isdirty == NULL):
        free(V); free(vl); free(tl); free(order); free(count); free(dirty); free(isdirty)
        raise MemoryError()
    # each image in location-major layout (element (f, loc) at loc F + f: the scans
    # run over contiguous memory), then transposed into the (F, Ho, Wo) outputs
    with nogil:
        for b in prange(B, num_threads=nt, schedule="dynamic"):
            tid = threadid()
            _sort_input(&tin[b, 0, 0, 0], C, H, W, T, order + tid * (3 * n_in + 1),
                        count + tid * (T + 1))
            total += _forward_rows(order + tid * (3 * n_in + 1), count + tid * (T + 1),
                                   C, H, W, &wt[0, 0, 0, 0], kh, kw, F,
                                   threshold, T, pad, inhibit, tl + tid * nv,
                                   vl + tid * nv, 1, F, 0, 1, V + tid * nv,
                                   dirty + tid * n_loc, isdirty + tid * n_loc, NULL, NULL,
                                   NULL)
            _transpose(tl + tid * nv, vl + tid * nv, n_loc, F, &tout[b, 0, 0, 0],
                       vbase + b * nv if vbase != NULL else NULL)
    free(V); free(vl); free(tl); free(order); free(count); free(dirty); free(isdirty)
    return total


def pool_first(const int16_t[:, :, :, ::1] tin, int size, int stride, int pad,
               int16_t[:, :, :, ::1] tout, int threads=1):
    """First-spike pooling: each output is the earliest spike time in its window
    (windows of ``size`` with ``stride`` over the input padded by ``pad`` never-firing
    neurons). Images shared out over ``threads`` threads."""
    cdef int B = tin.shape[0], C = tin.shape[1], H = tin.shape[2], W = tin.shape[3]
    cdef int Ho = (H + 2 * pad - size) // stride + 1
    cdef int Wo = (W + 2 * pad - size) // stride + 1
    cdef int b, c, oy, ox, y, x, y0, x0, nt
    cdef int16_t m, v
    if tout.shape[0] != B or tout.shape[1] != C or tout.shape[2] != Ho or tout.shape[3] != Wo:
        raise ValueError(f"output must have shape {(B, C, Ho, Wo)}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    nt = _threads(threads, B)
    with nogil:
        for b in prange(B, num_threads=nt, schedule="static"):
            for c in range(C):
                for oy in range(Ho):
                    y0 = oy * stride - pad
                    for ox in range(Wo):
                        x0 = ox * stride - pad
                        m = 32767
                        for y in range(max(y0, 0), min(y0 + size, H)):
                            for x in range(max(x0, 0), min(x0 + size, W)):
                                v = tin[b, c, y, x]
                                if v < m:
                                    m = v
                        tout[b, c, oy, ox] = m
    return None


def winners(const int16_t[:, :, ::1] tsp, const float[:, :, ::1] v, int T, int k, int r):
    """The k winners of one image's layer output (F, Ho, Wo): int32 array (n, 4) of
    (map, y, x, t) in selection order."""
    import numpy as np
    cdef int F = tsp.shape[0], Ho = tsp.shape[1], Wo = tsp.shape[2]
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo, i
    cdef int32_t nc = 0
    out = np.zeros((max(k, 0), 4), dtype=np.int32)
    cdef int32_t[:, ::1] o = out
    cdef char* mapblk = <char*>malloc(F + 1)
    cdef int32_t* cand = <int32_t*>malloc((F * n_loc + 1) * sizeof(int32_t))
    cdef const int16_t* tp
    cdef int n = 0
    if mapblk == NULL or cand == NULL:
        free(mapblk); free(cand)
        raise MemoryError()
    if k > 0 and F * n_loc > 0:
        tp = &tsp[0, 0, 0]
        with nogil:
            for i in range(F * n_loc):
                if tp[i] < T:
                    cand[nc] = <int32_t>i
                    nc += 1
            n = _select_winners(tp, &v[0, 0, 0], n_loc, 1, F, Ho, Wo, T, cand, 0, &nc, 1,
                                k, r, mapblk, &o[0, 0])
    free(mapblk); free(cand)
    return out[:n]


def stdp_update(const int16_t[:, :, ::1] tin, float[:, :, :, ::1] wt,
                const int32_t[:, ::1] win, int pad, int T, StdpParameters params not None):
    """Apply the STDP update of the winners ``win`` (n, 4: map, y, x, t) for one
    image's input spike times ``tin`` (C, H, W) to kernels ``wt`` (C, kh, kw, F)."""
    cdef StdpParams p = params.p
    cdef int n = win.shape[0]
    if n == 0:
        return None
    if win.shape[1] != 4:
        raise ValueError("winners must be (n, 4)")
    with nogil:
        _stdp_channels(&tin[0, 0, 0], tin.shape[0], tin.shape[1], tin.shape[2],
                       &wt[0, 0, 0, 0], wt.shape[1], wt.shape[2], wt.shape[3], pad, T,
                       &win[0, 0], n, &p, 0, 1)
    return None


def train(const int16_t[:, :, :, ::1] tin, float[:, :, :, ::1] wt, double threshold,
          int T, int pad, int k, int r, StdpParameters params not None,
          int32_t[::1] n_winners, int threads=1, int chunk=16):
    """Train a conv layer on a batch of images, one image after the other: forward
    (with pointwise inhibition), k winners, STDP on the shared kernels ``wt``
    (C, kh, kw, F), updated in place. ``n_winners[b]`` receives image b's number of
    winners. Without the GIL, on ``threads`` threads (OpenMP; one without it) that
    share each image's output rows: the same numbers for any number of threads.

    The input of the layer does not depend on the weights: the threads first sort
    the input spikes of ``chunk`` images by time, each its share of the images, then
    (one barrier) go through these images one after the other. Per image, each
    thread computes its rows' potentials and spikes and lists their spikes after
    the inhibition, by time; after a barrier every thread selects the same winners
    from all the lists (reading only) and applies their update to its own copy of
    the kernels (thread 0 works on ``wt``), the same operations on the same numbers:
    one barrier per image. (Sharing the update out by input channel, on shared
    kernels, costs a second barrier per image, and each thread then reads the
    weights the other wrote from the other's cache: measured slower for the MNIST
    conv2, 8 winners x 30 x 5 x 5 updates per image.) The outputs the threads read
    after the barrier (spike times, potentials, lists of spikes) alternate between
    two buffers from image to image, so a thread that starts the next image
    overwrites nothing another still reads; the sorted inputs of a chunk are only
    read before the barrier of its last image, so the next chunk's sort overwrites
    nothing another thread still reads either."""
    cdef int B = tin.shape[0], C = tin.shape[1], H = tin.shape[2], W = tin.shape[3]
    cdef int kh = wt.shape[1], kw = wt.shape[2], F = wt.shape[3]
    cdef int Ho = H + 2 * pad - kh + 1, Wo = W + 2 * pad - kw + 1
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo, n_in = <Py_ssize_t>C * H * W
    cdef Py_ssize_t nv = n_loc * F, nwt = <Py_ssize_t>C * kh * kw * F, q
    cdef Py_ssize_t ns = 3 * n_in + 1, nb = T + 1
    cdef int b, b0, b1, bb, nw, nt, tid, nteam, sense, par, ch
    cdef float* wk
    cdef pl_fbar_t bar
    cdef StdpParams p = params.p
    if wt.shape[0] != C:
        raise ValueError(f"kernels have {wt.shape[0]} input channels, input has {C}")
    if n_winners.shape[0] != B:
        raise ValueError("n_winners must have one entry per image")
    if T < 1 or T > 32000:
        raise ValueError(f"T must be in [1, 32000], got {T}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if B == 0 or Ho <= 0 or Wo <= 0 or k <= 0:
        return None
    nt = _threads(threads, Ho)
    ch = chunk if chunk < B else B
    cdef float* V = <float*>malloc(nv * sizeof(float))
    cdef float* vout = <float*>malloc(2 * nv * sizeof(float))
    cdef int16_t* tout = <int16_t*>malloc(2 * nv * sizeof(int16_t))
    cdef int32_t* fired = <int32_t*>malloc(2 * nt * n_loc * sizeof(int32_t))
    cdef int32_t* fsorted = <int32_t*>malloc(2 * nt * n_loc * sizeof(int32_t))
    cdef int32_t* fend = <int32_t*>calloc(2 * nt * nb, sizeof(int32_t))
    cdef float* wcopy = <float*>malloc(((nt - 1) * nwt + 1) * sizeof(float))
    cdef char* mapblk = <char*>malloc(nt * F)
    cdef int32_t* spk = <int32_t*>malloc(ch * ns * sizeof(int32_t))
    cdef int32_t* count = <int32_t*>malloc(ch * nb * sizeof(int32_t))
    cdef int32_t* dirty = <int32_t*>malloc(nt * n_loc * sizeof(int32_t))
    cdef char* isdirty = <char*>malloc(nt * n_loc)
    cdef int32_t* win = <int32_t*>malloc(nt * 4 * k * sizeof(int32_t))
    if (V == NULL or vout == NULL or tout == NULL or fired == NULL or fsorted == NULL
            or fend == NULL or wcopy == NULL or mapblk == NULL or spk == NULL
            or count == NULL or dirty == NULL or isdirty == NULL or win == NULL):
        free(V); free(vout); free(tout); free(fired); free(fsorted); free(fend)
        free(wcopy); free(mapblk); free(spk); free(count); free(dirty); free(isdirty)
        free(win)
        raise MemoryError()
    cdef const float* w0 = &wt[0, 0, 0, 0]
    for q in range((nt - 1) * nwt):
        wcopy[q] = w0[q % nwt]
    # tout, vout in location-major layout (element (f, loc) at loc F + f): each
    # thread's rows are contiguous there
    # a waiting thread spins about 100 us (8192 rounds of pause) where every thread
    # can have a core, 3 us where they cannot, then sleeps (see _threads.h)
    pl_fbar_init(&bar, nt, 8192 if nt <= pl_online_cpus() else 256)
    with nogil, parallel(num_threads=nt):
        tid = threadid()
        nteam = pl_team_size()
        sense = 0
        wk = &wt[0, 0, 0, 0] if tid == 0 else wcopy + (tid - 1) * nwt
        if tid == 0:
            bar.n = nteam       # the team OpenMP gave (perhaps fewer than asked for)
        pl_barrier()
        b0 = 0
        while b0 < B:
            b1 = b0 + ch if b0 + ch < B else B
            # the input spikes of images b0 .. b1 - 1 sorted by time, shared out
            bb = b0 + tid
            while bb < b1:
                _sort_input(&tin[bb, 0, 0, 0], C, H, W, T, spk + (bb - b0) * ns,
                            count + (bb - b0) * nb)
                bb = bb + nteam
            pl_fbar_wait(&bar, &sense)
            for b in range(b0, b1):
                par = b & 1
                _forward_rows(spk + (b - b0) * ns, count + (b - b0) * nb, C, H, W, wk,
                              kh, kw, F, threshold, T, pad, 1, tout + par * nv,
                              vout + par * nv, 1, F, tid, nteam, V,
                              dirty + tid * n_loc, isdirty + tid * n_loc,
                              fired + (par * nt + tid) * n_loc,
                              fsorted + (par * nt + tid) * n_loc,
                              fend + (par * nt + tid) * nb)
                pl_fbar_wait(&bar, &sense)
                # every thread selects the same winners (reading only) and applies
                # their update to its own copy of the kernels
                nw = _select_bucketed(tout + par * nv, vout + par * nv, 1, F, F, Ho, Wo,
                                      T, fsorted + par * nt * n_loc, n_loc,
                                      fend + par * nt * nb, nb, nteam, k, r,
                                      mapblk + tid * F, win + tid * 4 * k)
                _stdp_channels(&tin[b, 0, 0, 0], C, H, W, wk, kh, kw, F, pad, T,
                               win + tid * 4 * k, nw, &p, 0, 1)
                if tid == 0:
                    n_winners[b] = nw
            b0 = b1
    free(V); free(vout); free(tout); free(fired); free(fsorted); free(fend)
    free(wcopy); free(mapblk); free(spk); free(count); free(dirty); free(isdirty)
    free(win)
    return None


def global_max(const float[:, :, :, ::1] v, float[:, ::1] out, int threads=1):
    """out[b, f] = max over positions of v[b, f] (B, F, H, W); images shared out over
    ``threads`` threads."""
    cdef Py_ssize_t b, f, i, n = <Py_ssize_t>v.shape[2] * v.shape[3]
    cdef float m
    cdef const float* row
    cdef int nt
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    nt = _threads(threads, v.shape[0])
    with nogil:
        for b in prange(v.shape[0], num_threads=nt, schedule="static"):
            for f in range(v.shape[1]):
                row = &v[b, f, 0, 0]
                m = -INFINITY
                for i in range(n):
                    if row[i] > m:
                        m = row[i]
                out[b, f] = m
    return None
