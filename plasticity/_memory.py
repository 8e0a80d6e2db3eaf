"""Memory estimates checked before any work: a size that cannot fit is refused up front
(naming the key or parameter and the estimate), not found out by a MemoryError, a swap
storm or the OOM killer minutes into a run."""
import os

__all__ = ["available_bytes", "fmt_bytes", "check"]


def available_bytes():
    """Memory this process can still use (bytes): MemAvailable, else physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
        return None


def fmt_bytes(n):
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1000.0


# a total up to this fits without asking /proc/meminfo (read at every Network.run
# otherwise: ~50 us of serial work per run)
_ALWAYS_FITS = 16 * 2**20


def check(parts, exc=ValueError, what=""):
    """``parts``: {name: (value, bytes)}, what each setting costs. Raises ``exc``
    naming the costliest setting, its value and the estimate when the total exceeds
    the memory available."""
    if not parts:
        return
    total = sum(float(b) for _v, b in parts.values())
    if total <= _ALWAYS_FITS:
        return
    avail = available_bytes()
    if avail is None or total <= avail:
        return
    name, (value, cost) = max(parts.items(), key=lambda kv: float(kv[1][1]))
    label = f"{what}{name!r}" if what else name
    raise exc(f"{label} = {value!r} needs about {fmt_bytes(cost)} of memory "
              f"(estimate; {fmt_bytes(total)} in all), more than the "
              f"{fmt_bytes(avail)} available; make it smaller")
