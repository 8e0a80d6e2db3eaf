"""Arrays the threaded step loop writes in parts: allocated on 64-byte cache lines."""
import numpy as np

__all__ = ["aligned_empty"]

LINE = 64    # bytes per cache line (x86-64, most ARM cores)


def aligned_empty(shape, dtype=np.float64):
    """An uninitialised C-contiguous array whose first element starts a cache line.

    The engine splits a population's neurons among threads at multiples of 8
    (``_part`` in ``_ext/engine.pyx``); with the block aligned, no 64-byte line of a
    float64 row whose length is a multiple of 8 holds two threads' neurons, so no
    line moves between cores at every step. NumPy's own allocations are 16-byte
    aligned. The result is a view of a slightly larger byte buffer.
    """
    dtype = np.dtype(dtype)
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(x) for x in shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = np.empty(nbytes + LINE, dtype=np.uint8)
    off = (-buf.ctypes.data) % LINE
    return buf[off:off + nbytes].view(dtype).reshape(shape)
