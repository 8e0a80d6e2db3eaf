"""Small helpers of the RSNN experiments."""
import contextlib

__all__ = ["single_threaded_blas"]


@contextlib.contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread (the step-by-step loops multiply small matrices, where
    threads cost more than they gain; measured 2-10x faster on a loaded 2-core host).
    A no-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
