"""Progress of long work, in one place: network runs, experiments and sweeps.

A :class:`Progress` shows itself in one of three ways, chosen once when it starts:

- ``"bar"``: a tqdm bar, when its stream (stderr) is a terminal;
- ``"log"``: otherwise (``nohup``, pipes, batch systems, notebooks), one line on the
  stream when it starts, about every :data:`INTERVAL` seconds while it runs, at every
  phase change and when it ends, with the phase, the percentage done, the elapsed time
  and the time left (ETA), e.g.
  ``plasticity: song_abbott_2000 / simulate: 40.0% (40000/100000 ms), elapsed 0:31,
  ETA 0:46``;
- ``"off"``: nothing (``--quiet``).

:func:`settings` sets the defaults of every ``Progress`` started inside its block (the
runner sets ``quiet`` and the experiment's name there, so a ``Network.run`` deep inside
an experiment follows ``--quiet`` without being told). The environment variable
``PLASTICITY_PROGRESS`` (``bar``, ``log`` or ``off``) overrides the choice by stream.

tqdm is imported only when a bar is actually shown.
"""
import contextlib
import contextvars
import dataclasses
import os
import sys
import threading
import time

__all__ = ["INTERVAL", "MODES", "Progress", "settings", "format_seconds"]

#: seconds between two log lines (off a terminal)
INTERVAL = 30.0
#: the ways a Progress shows itself
MODES = ("bar", "log", "off")


@dataclasses.dataclass(frozen=True)
class _Settings:
    quiet: bool = False
    mode: object = None        # None: by the stream (and PLASTICITY_PROGRESS)
    interval: float = INTERVAL
    stream: object = None      # None: sys.stderr at the time of use
    clock: object = time.monotonic
    prefix: str = ""


_SETTINGS = contextvars.ContextVar("plasticity_progress_settings", default=_Settings())
_ACTIVE = []   # the Progress objects shown now (outermost first)


def _check_mode(mode, what="mode"):
    if mode is not None and mode not in MODES:
        raise ValueError(f"progress {what} must be one of {', '.join(MODES)} or None, "
                         f"got {mode!r}")


@contextlib.contextmanager
def settings(*, quiet=None, mode=None, interval=None, stream=None, clock=None,
             prefix=None):
    """Defaults of every :class:`Progress` started inside the ``with`` block.

    Parameters
    ----------
    quiet : bool, optional
        Show nothing (``--quiet``); a quiet block stays quiet inside nested blocks.
    mode : {"bar", "log", "off"}, optional
        Force one way of showing progress instead of choosing by the stream.
    interval : float, optional
        Seconds between two log lines (default :data:`INTERVAL`), > 0.
    stream : file, optional
        Where progress goes (default: ``sys.stderr``).
    clock : callable, optional
        Returns seconds (default ``time.monotonic``); tests pass a fake clock.
    prefix : str, optional
        Put in front of each description, e.g. the experiment's name.
    """
    _check_mode(mode)
    if interval is not None and not interval > 0:
        raise ValueError(f"progress interval must be > 0 s, got {interval!r}")
    old = _SETTINGS.get()
    new = dataclasses.replace(
        old,
        quiet=old.quiet or bool(quiet),
        **{k: v for k, v in (("mode", mode), ("interval", interval), ("stream", stream),
                             ("clock", clock), ("prefix", prefix)) if v is not None})
    token = _SETTINGS.set(new)
    try:
        yield new
    finally:
        _SETTINGS.reset(token)
        # one left open (an exception before its close) must not silence later ones
        for p in [p for p in _ACTIVE if p._settings is new]:
            p.close()


def format_seconds(s):
    """``M:SS`` or ``H:MM:SS`` (``?`` when unknown)."""
    if s is None or s != s or s == float("inf") or s < 0:
        return "?"
    s = int(round(s))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _fmt_count(x):
    return f"{x:g}" if isinstance(x, float) else str(x)


class Progress:
    """Progress of one piece of work: a bar on a terminal, log lines elsewhere.

    Parameters
    ----------
    total : int or float, optional
        The amount of work (None: unknown, no percentage or ETA).
    desc : str
        What is being done (the phase), e.g. ``"simulate"`` or ``"train"``.
    unit : str
        Unit of ``total`` (``"ms"``, ``"image"``, ``"run"``).
    initial : int or float
        Work already done (e.g. before a resume); the ETA counts from here.
    enabled : bool or None
        False: show nothing. None (automatic): show unless quiet or inside another
        shown Progress (a network run inside an experiment's own progress stays
        silent). True: show unless quiet.
    quiet : bool
        Show nothing (``--quiet``); so does :func:`settings` ``(quiet=True)``.
    delay : float
        Seconds of work before anything is shown (short runs stay silent).
    leave : bool
        Keep the finished bar on the terminal.
    heartbeat : bool
        Off a terminal, also write a line every interval while no :meth:`update`
        comes (a background thread), for work that advances in large steps (sweeps).
    mode, interval, stream, clock
        Override :func:`settings` for this one.
    """

    def __init__(self, total=None, *, desc="", unit="it", initial=0, enabled=None,
                 quiet=False, delay=0.0, leave=True, heartbeat=False, mode=None,
                 interval=None, stream=None, clock=None):
        _check_mode(mode)
        s = self._settings = _SETTINGS.get()
        if total is not None and not total >= 0:
            raise ValueError(f"progress total must be >= 0 or None, got {total!r}")
        self.total = total
        self.n = initial
        self.initial = initial
        self.unit = unit
        self.desc = desc
        self.prefix = s.prefix
        self.interval = float(interval if interval is not None else s.interval)
        self.stream = stream if stream is not None else (s.stream or sys.stderr)
        self.clock = clock or s.clock
        self.delay = float(delay)
        self._t0 = self.clock()
        self._t_phase = self._t0
        self._n_phase = initial
        self._last = None          # clock of the last log line
        self._bar = None
        self._closed = False
        self._lock = threading.Lock()
        self._stop = None
        if quiet or s.quiet or enabled is False or (enabled is None and _ACTIVE):
            self.mode = "off"
        else:
            self.mode = mode or s.mode or _mode_from_env() or (
                "bar" if _isatty(self.stream) else "log")
        self._leave = leave
        if self.mode == "bar":
            if self.delay <= 0:
                self._open_bar()
            # else: opened by the first update after `delay` seconds, so that work
            # that ends sooner (a short network run) never imports tqdm
        elif self.mode == "log":
            if self.delay <= 0:
                self._log("started" + (f", {_fmt_count(initial)}/{_fmt_count(total)} "
                                       f"{unit} already done" if initial else ""))
            if heartbeat:
                self._stop = threading.Event()
                threading.Thread(target=self._beat, daemon=True,
                                 name="plasticity-progress").start()
        if self.mode != "off":
            _ACTIVE.append(self)

    def _open_bar(self):
        from tqdm import tqdm  # only when a bar is shown (importing costs 50-150 ms)
        self._bar = tqdm(total=self.total, initial=self.n, desc=self._label(),
                         unit=self.unit, file=self.stream, leave=self._leave,
                         dynamic_ncols=True)

    # ------------------------------------------------------------------ state
    @property
    def disable(self):
        """True when nothing is shown (tqdm's name)."""
        return self.mode == "off"

    @property
    def elapsed(self):
        """Seconds since the start."""
        return self.clock() - self._t0

    def eta(self):
        """Seconds left, estimated from this phase's rate (None when unknown)."""
        if self.total is None:
            return None
        done = self.n - self._n_phase
        if done <= 0:
            return None
        return (self.clock() - self._t_phase) / done * max(self.total - self.n, 0)

    def _label(self):
        if self.prefix and self.desc and self.desc != self.prefix:
            return f"{self.prefix} / {self.desc}"
        return self.prefix or self.desc or "progress"

    def line(self, event=None):
        """The log line of the current state (``event``: e.g. ``"done"``)."""
        if self.total:
            pct = 100.0 * self.n / self.total
            what = f"{pct:.1f}% ({_fmt_count(self.n)}/{_fmt_count(self.total)} {self.unit})"
        else:
            what = f"{_fmt_count(self.n)} {self.unit}"
        tail = f"elapsed {format_seconds(self.elapsed)}"
        if event != "done":
            tail += f", ETA {format_seconds(self.eta())}"
        head = f"{event}: " if event else ""
        return f"plasticity: {self._label()}: {head}{what}, {tail}"

    def _log(self, event=None):
        self._last = self.clock()
        try:
            print(self.line(event), file=self.stream, flush=True)
        except (ValueError, OSError):  # stream closed (e.g. at interpreter exit)
            pass

    def _due(self):
        now = self.clock()
        if now - self._t0 < self.delay:
            return False
        return self._last is None or now - self._last >= self.interval

    def _beat(self):
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._closed:
                    return
                if self._due():
                    self._log()

    # ------------------------------------------------------------------ updates
    def update(self, n=1):
        """Advance by ``n``."""
        self.set(self.n + n)

    def set(self, n):
        """Set the amount done to ``n`` (absolute)."""
        with self._lock:
            if self._closed:
                return
            delta = n - self.n
            self.n = n
            if self._bar is not None:
                if delta:
                    self._bar.update(delta)
            elif self.mode == "bar":
                if self.clock() - self._t0 >= self.delay:
                    self._open_bar()
            elif self.mode == "log" and self._due():
                self._log()

    def set_phase(self, desc, total=None, n=None):
        """Start a new phase ``desc`` (logged at once off a terminal).

        ``total`` and ``n``, if given, replace the amount of work and the amount done;
        the ETA is estimated from the new phase's rate.
        """
        with self._lock:
            if self._closed or (desc == self.desc and total is None and n is None):
                return
            self.desc = desc
            if total is not None:
                self.total = total
            if n is not None:
                self.n = n
            self._t_phase, self._n_phase = self.clock(), self.n
            if self._bar is not None:
                self._bar.set_description(self._label())
                if total is not None or n is not None:
                    self._bar.reset(total=self.total)
                    self._bar.update(self.n)
            elif self.mode == "log":
                self._log("started")

    def close(self):
        """End it: a last log line (off a terminal) or close the bar."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._stop is not None:
                self._stop.set()
            if self._bar is not None:
                self._bar.close()
            elif self.mode == "log" and (self._last is not None or self.delay <= 0):
                self._log("done")
            if self in _ACTIVE:
                _ACTIVE.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _mode_from_env():
    v = os.environ.get("PLASTICITY_PROGRESS", "").strip().lower()
    if not v:
        return None
    if v not in MODES:
        raise ValueError(f"PLASTICITY_PROGRESS must be one of {', '.join(MODES)}, got "
                         f"{v!r}")
    return v
