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

from plasticity._ext.rules cimport StdpParams, StdpParameters, f_plus, f_minus, clip_weight


cdef int _forward_one(const int16_t* tin, int C, int H, int W,
                      const float* wt, int kh, int kw, int F,
                      double threshold, int T, int pad, int inhibit,
                      int16_t* tout, float* vout,
                      float* V, int32_t* order, int32_t* count, int32_t* dirty,
                      char* isdirty) noexcept nogil:
    """One image: first-spike times and potentials of a conv layer of IF neurons.

    tin (C, H, W); wt (C, kh, kw, F); outputs tout, vout (F, Ho, Wo): vout is the
    potential at the spike step for neurons that fired, the final potential V(T-1)
    otherwise. Work buffers: V (Ho*Wo*F), order (C*H*W), count (T+1), dirty (Ho*Wo),
    isdirty (Ho*Wo). Returns the number of output spikes (after inhibition)."""
    cdef int Ho = H + 2 * pad - kh + 1
    cdef int Wo = W + 2 * pad - kw + 1
    cdef Py_ssize_t n_in = <Py_ssize_t>C * H * W
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo
    cdef Py_ssize_t i, j, s, loc
    cdef int t, c, y, x, dy, dx, oy, ox, f, n_dirty, best, n_spk = 0
    cdef const float* wrow
    cdef float* vrow
    cdef float thr = <float>threshold
    cdef int16_t ti
    cdef int16_t tb
    cdef float vb
    if Ho <= 0 or Wo <= 0:
        return 0
    memset(V, 0, n_loc * F * sizeof(float))
    memset(isdirty, 0, n_loc)
    for loc in range(n_loc * F):
        tout[loc] = <int16_t>T
    # bucket the input spikes by time (counting sort, stable in flat index)
    memset(count, 0, (T + 1) * sizeof(int32_t))
    for i in range(n_in):
        ti = tin[i]
        if ti < T:
            count[ti + 1] += 1
    for t in range(T):
        count[t + 1] += count[t]
    for i in range(n_in):
        ti = tin[i]
        if ti < T:
            order[count[ti]] = <int32_t>i
            count[ti] += 1
    # now count[t] = end of bucket t; bucket t starts at count[t-1] (0 for t = 0)
    s = 0
    for t in range(T):
        n_dirty = 0
        while s < count[t]:
            i = order[s]
            s += 1
            c = <int>(i // (H * W))
            y = <int>((i // W) % H)
            x = <int>(i % W)
            for dy in range(kh):
                oy = y + pad - dy
                if oy < 0 or oy >= Ho:
                    continue
                for dx in range(kw):
                    ox = x + pad - dx
                    if ox < 0 or ox >= Wo:
                        continue
                    loc = <Py_ssize_t>oy * Wo + ox
                    vrow = V + loc * F
                    wrow = wt + ((<Py_ssize_t>c * kh + dy) * kw + dx) * F
                    for f in range(F):
                        vrow[f] += wrow[f]
                    if not isdirty[loc]:
                        isdirty[loc] = 1
                        dirty[n_dirty] = <int32_t>loc
                        n_dirty += 1
        # threshold scan of the locations that received input at this step
        for j in range(n_dirty):
            loc = dirty[j]
            isdirty[loc] = 0
            vrow = V + loc * F
            for f in range(F):
                if vrow[f] >= thr and tout[f * n_loc + loc] == T:
                    tout[f * n_loc + loc] = <int16_t>t
                    vout[f * n_loc + loc] = vrow[f]
    # neurons that never fired: their final potential
    for loc in range(n_loc):
        vrow = V + loc * F
        for f in range(F):
            if tout[f * n_loc + loc] == T:
                vout[f * n_loc + loc] = vrow[f]
    # lateral (pointwise) inhibition: per location one spike across maps, the
    # earliest; ties to the highest potential, then to the lowest map index
    for loc in range(n_loc):
        best = -1
        for f in range(F):
            ti = tout[f * n_loc + loc]
            if ti >= T:
                continue
            if best < 0 or ti < tb or (ti == tb and vout[f * n_loc + loc] > vb):
                best = f
                tb = ti
                vb = vout[f * n_loc + loc]
        if best < 0:
            continue
        if inhibit:
            for f in range(F):
                if f != best:
                    tout[f * n_loc + loc] = <int16_t>T
            n_spk += 1
        else:
            for f in range(F):
                if tout[f * n_loc + loc] < T:
                    n_spk += 1
    return n_spk


cdef int _winners_one(const int16_t* tsp, const float* v, int F, int Ho, int Wo, int T,
                      int k, int r, char* blocked, int32_t* out) noexcept nogil:
    """k winners: repeatedly the earliest spike among non-blocked neurons (ties: highest
    potential, then lowest flat index (f, y, x)); each winner blocks its whole map and
    the (2r+1)^2 neighbourhood in every map. out[4*j .. 4*j+3] = f, y, x, t."""
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo
    cdef Py_ssize_t n = n_loc * F, i, bi
    cdef int j, f, y, x, yy, xx, n_win = 0
    cdef int16_t tb
    cdef float vb
    memset(blocked, 0, n)
    for j in range(k):
        bi = -1
        for i in range(n):
            if blocked[i] or tsp[i] >= T:
                continue
            if bi < 0 or tsp[i] < tb or (tsp[i] == tb and v[i] > vb):
                bi = i
                tb = tsp[i]
                vb = v[i]
        if bi < 0:
            break
        f = <int>(bi // n_loc)
        y = <int>((bi // Wo) % Ho)
        x = <int>(bi % Wo)
        out[4 * n_win] = f
        out[4 * n_win + 1] = y
        out[4 * n_win + 2] = x
        out[4 * n_win + 3] = tb
        n_win += 1
        memset(blocked + f * n_loc, 1, n_loc)
        for yy in range(max(0, y - r), min(Ho, y + r + 1)):
            for xx in range(max(0, x - r), min(Wo, x + r + 1)):
                for i in range(F):
                    blocked[i * n_loc + <Py_ssize_t>yy * Wo + xx] = 1
    return n_win


cdef void _stdp_one(const int16_t* tin, int C, int H, int W, float* wt, int kh, int kw,
                    int F, int pad, int T, const int32_t* win, int n_win,
                    const StdpParams* p) noexcept nogil:
    """Weight-shared STDP for each winner in turn: w += a+ f+(w) if the input fired at
    or before the winner (t_in <= t_win), else w -= a- f-(w); clipped to [w_min, w_max].
    Inputs in the zero padding never fire."""
    cdef int j, f, y, x, tw, c, dy, dx, iy, ix, ti
    cdef Py_ssize_t q
    cdef double w
    for j in range(n_win):
        f = win[4 * j]
        y = win[4 * j + 1]
        x = win[4 * j + 2]
        tw = win[4 * j + 3]
        for c in range(C):
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


def out_shape(int H, int W, int kh, int kw, int pad):
    return H + 2 * pad - kh + 1, W + 2 * pad - kw + 1


def forward(const int16_t[:, :, :, ::1] tin, const float[:, :, :, ::1] wt,
            double threshold, int T, int pad, bint inhibit,
            int16_t[:, :, :, ::1] tout, float[:, :, :, ::1] vout):
    """Conv layer of IF neurons for a batch, without the GIL (call from threads).

    tin (B, C, H, W) spike times (T = never); wt (C, kh, kw, F); tout, vout
    (B, F, Ho, Wo) are written: first-spike times (after the pointwise lateral
    inhibition when ``inhibit``) and potentials (at the spike step for neurons that
    fired, else the final potential). threshold may be inf (potentials only)."""
    cdef int B = tin.shape[0], C = tin.shape[1], H = tin.shape[2], W = tin.shape[3]
    cdef int kh = wt.shape[1], kw = wt.shape[2], F = wt.shape[3]
    cdef int Ho = H + 2 * pad - kh + 1, Wo = W + 2 * pad - kw + 1
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo, b
    if wt.shape[0] != C:
        raise ValueError(f"kernels have {wt.shape[0]} input channels, input has {C}")
    if tout.shape[0] != B or tout.shape[1] != F or tout.shape[2] != Ho or tout.shape[3] != Wo \
            or vout.shape[0] != B or vout.shape[1] != F or vout.shape[2] != Ho \
            or vout.shape[3] != Wo:
        raise ValueError(f"outputs must have shape {(B, F, Ho, Wo)}")
    if T < 1 or T > 32000:
        raise ValueError(f"T must be in [1, 32000], got {T}")
    if B == 0 or Ho <= 0 or Wo <= 0:
        return 0
    cdef float* V = <float*>malloc(n_loc * F * sizeof(float))
    cdef int32_t* order = <int32_t*>malloc(<Py_ssize_t>C * H * W * sizeof(int32_t) + 4)
    cdef int32_t* count = <int32_t*>malloc((T + 1) * sizeof(int32_t))
    cdef int32_t* dirty = <int32_t*>malloc(n_loc * sizeof(int32_t))
    cdef char* isdirty = <char*>malloc(n_loc)
    cdef int64_t total = 0
    if V == NULL or order == NULL or count == NULL or dirty == NULL or isdirty == NULL:
        free(V); free(order); free(count); free(dirty); free(isdirty)
        raise MemoryError()
    with nogil:
        for b in range(B):
            total += _forward_one(&tin[b, 0, 0, 0], C, H, W, &wt[0, 0, 0, 0], kh, kw, F,
                                  threshold, T, pad, inhibit, &tout[b, 0, 0, 0],
                                  &vout[b, 0, 0, 0], V, order, count, dirty, isdirty)
    free(V); free(order); free(count); free(dirty); free(isdirty)
    return total


def pool_first(const int16_t[:, :, :, ::1] tin, int size, int stride, int pad,
               int16_t[:, :, :, ::1] tout):
    """First-spike pooling: each output is the earliest spike time in its window
    (windows of ``size`` with ``stride`` over the input padded by ``pad`` never-firing
    neurons)."""
    cdef int B = tin.shape[0], C = tin.shape[1], H = tin.shape[2], W = tin.shape[3]
    cdef int Ho = (H + 2 * pad - size) // stride + 1
    cdef int Wo = (W + 2 * pad - size) // stride + 1
    cdef int b, c, oy, ox, y, x, y0, x0
    cdef int16_t m, v
    if tout.shape[0] != B or tout.shape[1] != C or tout.shape[2] != Ho or tout.shape[3] != Wo:
        raise ValueError(f"output must have shape {(B, C, Ho, Wo)}")
    with nogil:
        for b in range(B):
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
    out = np.zeros((max(k, 0), 4), dtype=np.int32)
    cdef int32_t[:, ::1] o = out
    cdef char* blocked = <char*>malloc(<Py_ssize_t>F * Ho * Wo + 1)
    cdef int n = 0
    if blocked == NULL:
        raise MemoryError()
    if k > 0:
        with nogil:
            n = _winners_one(&tsp[0, 0, 0], &v[0, 0, 0], F, Ho, Wo, T, k, r, blocked,
                             &o[0, 0])
    free(blocked)
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
        _stdp_one(&tin[0, 0, 0], tin.shape[0], tin.shape[1], tin.shape[2], &wt[0, 0, 0, 0],
                  wt.shape[1], wt.shape[2], wt.shape[3], pad, T, &win[0, 0], n, &p)
    return None


def train(const int16_t[:, :, :, ::1] tin, float[:, :, :, ::1] wt, double threshold,
          int T, int pad, int k, int r, StdpParameters params not None,
          int32_t[::1] n_winners):
    """Train a conv layer on a batch of images, one image after the other: forward
    (with pointwise inhibition), k winners, STDP on the shared kernels ``wt``
    (C, kh, kw, F), updated in place. ``n_winners[b]`` receives image b's number of
    winners. Without the GIL."""
    cdef int B = tin.shape[0], C = tin.shape[1], H = tin.shape[2], W = tin.shape[3]
    cdef int kh = wt.shape[1], kw = wt.shape[2], F = wt.shape[3]
    cdef int Ho = H + 2 * pad - kh + 1, Wo = W + 2 * pad - kw + 1
    cdef Py_ssize_t n_loc = <Py_ssize_t>Ho * Wo
    cdef int b, nw
    cdef StdpParams p = params.p
    if wt.shape[0] != C:
        raise ValueError(f"kernels have {wt.shape[0]} input channels, input has {C}")
    if n_winners.shape[0] != B:
        raise ValueError("n_winners must have one entry per image")
    if B == 0 or Ho <= 0 or Wo <= 0 or k <= 0:
        return None
    cdef float* V = <float*>malloc(n_loc * F * sizeof(float))
    cdef float* vout = <float*>malloc(n_loc * F * sizeof(float))
    cdef int16_t* tout = <int16_t*>malloc(n_loc * F * sizeof(int16_t))
    cdef char* blocked = <char*>malloc(n_loc * F)
    cdef int32_t* order = <int32_t*>malloc(<Py_ssize_t>C * H * W * sizeof(int32_t) + 4)
    cdef int32_t* count = <int32_t*>malloc((T + 1) * sizeof(int32_t))
    cdef int32_t* dirty = <int32_t*>malloc(n_loc * sizeof(int32_t))
    cdef char* isdirty = <char*>malloc(n_loc)
    cdef int32_t* win = <int32_t*>malloc(4 * k * sizeof(int32_t))
    if (V == NULL or vout == NULL or tout == NULL or blocked == NULL or order == NULL
            or count == NULL or dirty == NULL or isdirty == NULL or win == NULL):
        free(V); free(vout); free(tout); free(blocked); free(order); free(count)
        free(dirty); free(isdirty); free(win)
        raise MemoryError()
    with nogil:
        for b in range(B):
            _forward_one(&tin[b, 0, 0, 0], C, H, W, &wt[0, 0, 0, 0], kh, kw, F, threshold,
                         T, pad, 1, tout, vout, V, order, count, dirty, isdirty)
            nw = _winners_one(tout, vout, F, Ho, Wo, T, k, r, blocked, win)
            _stdp_one(&tin[b, 0, 0, 0], C, H, W, &wt[0, 0, 0, 0], kh, kw, F, pad, T,
                      win, nw, &p)
            n_winners[b] = nw
    free(V); free(vout); free(tout); free(blocked); free(order); free(count)
    free(dirty); free(isdirty); free(win)
    return None


def global_max(const float[:, :, :, ::1] v, float[:, ::1] out):
    """out[b, f] = max over positions of v[b, f] (B, F, H, W)."""
    cdef Py_ssize_t b, f, i, n = <Py_ssize_t>v.shape[2] * v.shape[3]
    cdef float m
    cdef const float* row
    with nogil:
        for b in range(v.shape[0]):
            for f in range(v.shape[1]):
                row = &v[b, f, 0, 0]
                m = -INFINITY
                for i in range(n):
                    if row[i] > m:
                        m = row[i]
                out[b, f] = m
    return None
