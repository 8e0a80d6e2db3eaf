"""Memory estimates checked before any work: a size that cannot fit is refused up front
(naming the key or parameter and the estimate), not found out by a MemoryError, a swap
storm or the OOM killer minutes into a run."""
import os

__all__ = ["available_bytes", "fmt_bytes", "check", "fitting", "named_after"]


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


def check(parts, exc=ValueError, what="", fits=None):
    """``parts``: {name: (value, bytes)}, what each setting costs. Raises ``exc``
    naming the costliest setting, its value and the estimate when the total exceeds
    the memory available; ``fits(name, available bytes)``, if given, says what value
    of it would fit (a phrase, or None)."""
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
    hint = fits(name, avail) if fits is not None else None
    raise exc(f"{label} = {value!r} needs about {fmt_bytes(cost)} of memory "
              f"(estimate; {fmt_bytes(total)} in all), more than the "
              f"{fmt_bytes(avail)} available; {hint or 'make it smaller'}")


def fitting(total_of, config, name, avail):
    """What value of config key ``name`` would make ``total_of(config)`` (bytes) fit
    in ``avail``, the others unchanged: "'name' <= about N would fit" for a key that
    costs more when larger, "'name' >= about x would fit" for one that costs more
    when smaller (a step), "no value of it fits" when none does; None for a key that is not a number or
    whose cost does not change with it. A search over the estimate alone (no work)."""
    import dataclasses
    import math
    v = getattr(config, name)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0 \
            or not math.isfinite(v):
        return None
    is_int = isinstance(v, int)

    def cost(x):
        return total_of(dataclasses.replace(config, **{name: int(x) if is_int else x}))

    def narrow(lo, hi, up):
        """Bisect [lo, hi] (integers to 1, reals to 0.1 %) where ``up(mid)`` says the
        boundary lies above mid."""
        for _ in range(200):
            if (hi - lo <= 1) if is_int else (hi / lo < 1.001):
                break
            mid = (lo + hi) // 2 if is_int else math.sqrt(lo * hi)
            lo, hi = (mid, hi) if up(mid) else (lo, mid)
        return lo, hi
    try:
        here = cost(v)
        grow = cost(max(1, v // 2) if is_int else v / 2) < here
        if not grow and not cost(v * 2) < here:
            return None
        if grow:          # the largest value in (0, v] that fits
            # halving from v until one fits (as the doubling below; a fixed floor of
            # v 2**-60 said 'no value of it fits' of delay_u_bars = 1e30, where 4 did)
            hi = v
            while True:
                lo = max(1, hi // 2) if is_int else hi / 2
                if cost(lo) <= avail:
                    break
                if lo == hi or lo == 0 or (is_int and lo == 1):
                    return "no value of it fits"
                hi = lo
            lo, hi = narrow(lo, hi, lambda m: cost(m) <= avail)
            return f"{name!r} <= about {lo:.4g} would fit"
        lo, hi = v, v          # the smallest value >= v that fits
        for _ in range(64):
            if cost(hi) <= avail:
                break
            lo, hi = hi, hi * 2
        else:
            return "no value of it fits"
        lo, hi = narrow(lo, hi, lambda m: cost(m) > avail)
        return f"{name!r} >= about {hi:.4g} would fit"
    except (ValueError, TypeError, ArithmeticError, MemoryError):
        return None


def named_after(config, total, grow=(), shrink=()):
    """``{key: (value, total)}``: an estimate of ``total`` bytes that grows with several
    config keys at once (a product), named after the key farthest from its default in
    the costly direction (the one a user most likely changed): a key of ``grow`` costs
    more when larger, one of ``shrink`` when smaller (a step). A list counts by its
    length; a default of 0 counts as 1."""
    import dataclasses
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING
                else f.default_factory() for f in dataclasses.fields(config)}

    def size(v):
        v = len(v) if isinstance(v, (list, tuple, str)) else abs(float(v))
        return v if v > 0 else 1.0
    ratios = {k: size(getattr(config, k)) / size(defaults[k]) for k in grow}
    ratios.update({k: size(defaults[k]) / size(getattr(config, k)) for k in shrink})
    name = max(ratios, key=ratios.get)     # ties: the first listed
    return {name: (getattr(config, name), float(total))}
