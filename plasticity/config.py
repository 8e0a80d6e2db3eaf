"""Experiment configs: a dataclass of defaults, then a TOML file, then ``--set`` overrides.

An experiment declares its configuration as a dataclass whose defaults are the
paper's values. Fields may carry metadata made with :func:`field`::

    from dataclasses import dataclass
    from plasticity.config import field

    @dataclass
    class Config:
        duration: float = field(200_000.0, help="simulated time", units="ms", gt=0)
        n_inputs: int = field(1000, min=1)
        rule: str = field("additive", choices=("additive", "multiplicative"))

Nested dataclasses give dotted keys (``stdp.tau_plus``). :func:`resolve` applies, in
order, the defaults, ``overrides`` dicts (e.g. an experiment's ``SMALL``), a TOML file
(or the config stored in a run file), and ``key=value`` strings, and validates the
result. Every mistake raises :class:`ConfigError` (a ``ValueError``) naming the key,
the value and what is allowed, with the closest valid key for unknown names.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import numbers
import os
import types
import typing

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml
    except ModuleNotFoundError:
        _toml = None

__all__ = ["ConfigError", "field", "resolve", "from_dict", "to_dict", "to_flat",
           "to_json", "config_hash", "load_toml", "parse_assignment", "to_toml",
           "describe", "keys"]

_META_KEYS = ("help", "units", "min", "max", "gt", "lt", "choices", "multiple_of",
              "min_len")
#: the most time steps one interval may have (``multiple_of``): a run longer than this
#: would not finish, and a denormal dt would overflow the step count
MAX_STEPS = 2 ** 40


class ConfigError(ValueError):
    """An invalid configuration: unknown key, wrong type or value out of range."""


def field(default=dataclasses.MISSING, *, default_factory=dataclasses.MISSING,
          help=None, units=None, min=None, max=None, gt=None, lt=None, choices=None,
          multiple_of=None, min_len=None):
    """A dataclass field with validation metadata.

    ``min``/``max`` are inclusive bounds, ``gt``/``lt`` exclusive ones, ``choices`` the
    allowed values (of each item, for a list); ``min_len`` the fewest items of a list;
    ``help`` and ``units`` document the field (``plasticity config``).
    ``multiple_of`` names another key of the same table (e.g. ``"dt"``): the value must
    be a whole number (at most :data:`MAX_STEPS`) of that key's value (each item of a
    list), checked once the whole config is resolved. Mutable defaults (lists) are
    copied per instance.
    """
    meta = {k: v for k, v in dict(help=help, units=units, min=min, max=max, gt=gt,
                                  lt=lt, choices=choices, multiple_of=multiple_of,
                                  min_len=min_len).items() if v is not None}
    if isinstance(default, (list, dict, set)):
        value = default
        default_factory = lambda: type(value)(value)  # noqa: E731
        default = dataclasses.MISSING
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


# ----------------------------------------------------------------------------- types

def _hints(cls):
    try:
        return typing.get_type_hints(cls)
    except Exception:  # pragma: no cover - unresolvable annotations
        return {f.name: f.type for f in dataclasses.fields(cls)}


def _is_dc(tp):
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        plural = {bool: "booleans (true/false)", int: "integers", float: "numbers",
                  str: "strings"}
        inner = (plural.get(args[0]) or _type_name(args[0])) if args else "values"
        return f"a list of {inner}"
    if tp is type(None):
        return "none"
    return {bool: "a boolean (true/false)", int: "an integer", float: "a number",
            str: "a string"}.get(tp, getattr(tp, "__name__", str(tp)))


class _Mismatch(Exception):
    pass


def _coerce(tp, value):
    """Return ``value`` converted to type ``tp`` or raise _Mismatch."""
    if tp is typing.Any:
        return value
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            if type(None) in args:
                return None
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(a, value)
            except _Mismatch:
                pass
        raise _Mismatch
    if origin is typing.Literal:
        for a in typing.get_args(tp):
            if value == a and type(value) is type(a):
                return a
        raise _Mismatch
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise _Mismatch
            out = [_coerce(a, v) for a, v in zip(args, value)]
        else:
            inner = args[0] if args else typing.Any
            out = [_coerce(inner, v) for v in value]
        return tuple(out) if (origin or tp) is tuple else out
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise _Mismatch
    if tp is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise _Mismatch


# ----------------------------------------------------------------------------- keys

def keys(cls):
    """All dotted keys of config class ``cls`` (nested dataclasses flattened)."""
    out = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints.get(f.name, f.type)
        if _is_dc(tp):
            out += [f"{f.name}.{k}" for k in keys(tp)]
        else:
            out.append(f.name)
    return out


def _unknown(key, cls, prefix, source):
    valid = keys(cls)
    full = prefix + key
    candidates = [prefix + k for k in valid]
    close = difflib.get_close_matches(full, candidates, n=1, cutoff=0.6)
    if not close:  # also compare the last component alone
        last = {c.rsplit(".", 1)[-1]: c for c in candidates}
        m = difflib.get_close_matches(full.rsplit(".", 1)[-1], list(last), n=1,
                                      cutoff=0.6)
        close = [last[m[0]]] if m else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(candidates[:12]) + (", ..." if len(candidates) > 12 else "")
    return ConfigError(f"unknown config key {full!r}{_src(source)}{hint} "
                       f"(valid keys: {shown})")


def _src(source):
    return f" (from {source})" if source else ""


def _check_value(key, value, meta, source):
    """Range/choice checks from field metadata."""
    choices = meta.get("choices")
    is_list = isinstance(value, (list, tuple))
    vals = value if is_list else [value]
    if choices is not None:
        for item in vals:
            if item not in tuple(choices):
                what = "a list of" if is_list else "one of"
                got = f"{item!r} in {value!r}" if is_list else repr(value)
                raise ConfigError(f"config key {key!r} must be {what} "
                                  f"{', '.join(repr(c) for c in choices)}, got {got}"
                                  f"{_src(source)}")
    n = meta.get("min_len")
    if n is not None and is_list and len(value) < n:
        raise ConfigError(f"config key {key!r} must be a list of at least {n} "
                          f"value{'s' if n > 1 else ''}, got {value!r}{_src(source)}")
    bounded = any(meta.get(b) is not None for b in ("min", "max", "gt", "lt"))
    for v in vals:
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            if bounded and isinstance(value, (list, tuple)):   # a list of numbers
                raise ConfigError(f"config key {key!r} must be a list of numbers, got "
                                  f"{v!r} ({type(v).__name__}) in {value!r}"
                                  f"{_src(source)}")
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"config key {key!r} must be finite, got {v!r}{_src(source)}")
        units = f" {meta['units']}" if meta.get("units") else ""
        for name, op, ok in (("min", ">=", lambda b: v >= b), ("max", "<=", lambda b: v <= b),
                             ("gt", ">", lambda b: v > b), ("lt", "<", lambda b: v < b)):
            b = meta.get(name)
            if b is not None and not ok(b):
                raise ConfigError(f"config key {key!r} must be {op} {b}{units}, "
                                  f"got {v!r}{_src(source)}")


def _mismatch(key, tp, value):
    """The message of a value that is not of type ``tp``; for a list, the first item
    that is not of the item type."""
    got = f"{value!r} ({type(value).__name__})"
    args = [a for a in typing.get_args(tp) if a is not Ellipsis]
    if typing.get_origin(tp) in (list, tuple) and len(args) == 1 and \
            isinstance(value, (list, tuple)):
        for item in value:
            try:
                _coerce(args[0], item)
            except _Mismatch:
                got = f"{item!r} ({type(item).__name__}) in {value!r}"
                break
    return f"config key {key!r} must be {_type_name(tp)}, got {got}"


def _apply(cfg, data, prefix, source):
    """Return a copy of dataclass ``cfg`` with nested dict ``data`` applied."""
    cls = type(cfg)
    if not isinstance(data, dict):
        raise ConfigError(f"config key {prefix.rstrip('.')!r} is a table of settings "
                          f"({', '.join(keys(cls))}), got {data!r}{_src(source)}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    changes = {}
    for key, value in data.items():
        if key not in fields:
            raise _unknown(key, cls, prefix, source)
        f = fields[key]
        tp = hints.get(key, f.type)
        full = prefix + key
        if _is_dc(tp):
            changes[key] = _apply(getattr(cfg, key), value, full + ".", source)
            continue
        try:
            v = _coerce(tp, value)
        except _Mismatch:
            raise ConfigError(_mismatch(full, tp, value) + _src(source)) from None
        _check_value(full, v, f.metadata, source)
        changes[key] = v
    try:
        return dataclasses.replace(cfg, **changes)
    except (ValueError, TypeError) as e:  # a __post_init__ (checks between keys go
        # in check(), called once on the resolved config: see _check_relations)
        raise ConfigError(f"invalid config{_src(source)}: {e}") from None


def _validate_all(cfg, prefix=""):
    """Check every field of ``cfg`` (the defaults too) against its type and metadata."""
    hints = _hints(type(cfg))
    for f in dataclasses.fields(cfg):
        tp = hints.get(f.name, f.type)
        v = getattr(cfg, f.name)
        if _is_dc(tp):
            _validate_all(v, prefix + f.name + ".")
            continue
        try:
            _coerce(tp, v)
        except _Mismatch:
            raise ConfigError(_mismatch(prefix + f.name, tp, v)) from None
        _check_value(prefix + f.name, v, f.metadata, "")


def _check_multiples(cfg, prefix=""):
    """``multiple_of`` relations between keys (after every layer is applied), on the
    values the run will use: a Config whose keys default to None and are filled
    from other keys (a model's parameter set) gives them by ``effective()``."""
    if callable(getattr(cfg, "effective", None)):
        cfg = cfg.effective()
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            _check_multiples(v, prefix + f.name + ".")
            continue
        step_key = f.metadata.get("multiple_of")
        if step_key is None:
            continue
        step = getattr(cfg, step_key)
        key, skey = prefix + f.name, prefix + step_key
        units = f" {f.metadata['units']}" if f.metadata.get("units") else ""
        for v in (v if isinstance(v, (list, tuple)) else [v]):    # a list: each item
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                _check_multiple(key, v, skey, step, units)


def _check_multiple(key, v, skey, step, units):
    """``v`` (of config key ``key``) is a whole number of steps ``step`` (of ``skey``)."""
    n = float(v) / float(step) if step else math.inf
    if not math.isfinite(n) or abs(n) > MAX_STEPS:
        raise ConfigError(f"config key {key!r} = {v!r}{units} is {n:.3g} steps of "
                          f"{skey!r} = {step!r}{units}; at most {MAX_STEPS} (2**40) "
                          f"steps are allowed (is {skey!r} too small?)")
    k = round(n)
    if abs(n - k) > 1e-6 + 1e-15 * abs(n):      # in steps, not in v's units
        raise ConfigError(f"config key {key!r} must be a multiple of {skey!r} = "
                          f"{step!r}{units}, got {v!r} ({n:.6g} steps)")
    if k == 0 and v != 0:   # within rounding of 0 steps: a value that acts as 0
        raise ConfigError(f"config key {key!r} must be 0 or at least one step of "
                          f"{skey!r} = {step!r}{units}, got {v!r} ({n:.3g} steps)")


def _nest(flat, source):
    """{'a.b': 1} -> {'a': {'b': 1}}."""
    out = {}
    for key, value in flat.items():
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"invalid config key {key!r}{_src(source)}")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
            if not isinstance(d, dict):
                raise ConfigError(f"config key {key!r} conflicts with another setting"
                                  f"{_src(source)}")
        d[parts[-1]] = value
    return out


# ----------------------------------------------------------------------------- parsing

def load_toml(path):
    """Read a TOML file into a dict; errors name the file and the line."""
    if _toml is None:  # pragma: no cover
        raise ConfigError("reading TOML needs Python >= 3.11 or the 'tomli' package")
    try:
        with open(path, "rb") as fh:
            return _toml.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {os.fspath(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {os.fspath(path)!r} is a directory") from None
    except _toml.TOMLDecodeError as e:
        raise ConfigError(f"config file {os.fspath(path)!r} is not valid TOML: {e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file {os.fspath(path)!r} is not valid TOML: not UTF-8 "
                          f"text (byte {e.start}; a binary file?)") from None
    except OSError as e:
        raise ConfigError(f"config file {os.fspath(path)!r} cannot be read: "
                          f"{e.strerror or e}") from None


def parse_assignment(text):
    """Parse ``'a.b=value'`` into ``('a.b', value)``.

    The value is read as a TOML literal (``3``, ``2.5``, ``true``, ``[1, 2]``,
    ``"text"``); anything that is not a TOML literal is taken as a bare string, so
    ``rule=additive`` works without quotes.
    """
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if not key:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    if raw == "":
        raise ConfigError(f"--set {key}= needs a value")
    if _toml is not None:
        try:
            return key, _toml.loads(f"v = {raw}")["v"]
        except _toml.TOMLDecodeError:
            pass
    return key, raw


def resolve(cls, *, base=None, overrides=(), toml=None, sets=(), source=None):
    """Build and validate a config of dataclass ``cls``.

    Parameters
    ----------
    cls : dataclass type
        The experiment's config class (its defaults are the starting point).
    base : dict, optional
        A complete nested config (e.g. one stored in a run file) applied first.
    overrides : iterable of dict
        Nested or dotted dicts applied next (e.g. an experiment's ``SMALL``).
    toml : path, optional
        A TOML file whose tables and keys override the above.
    sets : iterable of str
        ``key=value`` strings (``--set``), applied last.
    source : str, optional
        How to name ``base`` in error messages.

    Returns
    -------
    An instance of ``cls``. Raises :class:`ConfigError` on any invalid input.
    """
    if not _is_dc(cls):
        raise TypeError(f"cls must be a dataclass type, got {cls!r}")
    try:
        cfg = cls()
    except TypeError as e:
        raise ConfigError(f"config class {cls.__name__} needs defaults for every "
                          f"field: {e}") from None
    _validate_all(cfg)
    if base is not None:
        cfg = _apply(cfg, base, "", source or "stored config")
    for ov in overrides:
        cfg = _apply(cfg, _nest(ov, "overrides") if any("." in k for k in ov) else ov,
                     "", "overrides")
    if toml is not None:
        cfg = _apply(cfg, load_toml(toml), "", os.fspath(toml))
    flat = {}
    for s in sets:
        k, v = parse_assignment(s)
        flat[k] = v
    if flat:
        cfg = _apply(cfg, _nest(flat, "--set"), "", "--set")
    _check_multiples(cfg)
    _check_relations(cfg)
    return cfg


def _check_relations(cfg, prefix=""):
    """The checks between keys (``n_correlated < n_inputs``, a rate that must be one of
    ``rates``): a config class's ``check()`` method, called once on the resolved
    config (nested tables first), not on each layer: a TOML that lowers ``n_inputs``
    and a ``--set`` that lowers ``n_correlated`` make a valid config together. A
    ``ValueError`` it raises becomes a :class:`ConfigError`."""
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            _check_relations(v, prefix + f.name + ".")
    check = getattr(cfg, "check", None)
    if callable(check):
        try:
            check()
        except ConfigError:
            raise
        except (ValueError, TypeError) as e:
            where = f" (table {prefix.rstrip('.')!r})" if prefix else ""
            raise ConfigError(f"invalid config{where}: {e}") from None


def from_dict(cls, data, *, source=None):
    """A config of class ``cls`` from a (possibly partial) nested dict."""
    return resolve(cls, base=data, source=source)


# ----------------------------------------------------------------------------- output

def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def to_dict(cfg):
    """Nested plain dict (tuples as lists) of a config dataclass."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = to_dict(v) if dataclasses.is_dataclass(v) else _plain(v)
    return out


def to_flat(cfg_or_dict, prefix=""):
    """Flat ``{'a.b': value}`` view of a config or a nested dict."""
    d = to_dict(cfg_or_dict) if dataclasses.is_dataclass(cfg_or_dict) else cfg_or_dict
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(to_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def to_json(cfg_or_dict):
    """Canonical JSON text (sorted keys) of a config or nested dict."""
    d = to_dict(cfg_or_dict) if dataclasses.is_dataclass(cfg_or_dict) else cfg_or_dict
    return json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(cfg_or_dict, n=8):
    """The first ``n`` hex digits of the SHA-256 of :func:`to_json`."""
    return hashlib.sha256(to_json(cfg_or_dict).encode()).hexdigest()[:n]


def describe(cls):
    """``[(key, default, type name, metadata)]`` for every field, nested flattened."""
    out = []
    cfg = cls()
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints.get(f.name, f.type)
        if _is_dc(tp):
            out += [(f"{f.name}.{k}", d, t, m) for k, d, t, m in describe(tp)]
        else:
            out.append((f.name, getattr(cfg, f.name), _type_name(tp), dict(f.metadata)))
    return out


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            return "nan"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {v!r} ({type(v).__name__}) as TOML")


def to_toml(cfg, *, comments=True):
    """TOML text of a config (``None`` values are omitted: TOML has no null)."""
    meta = {k: m for k, _, _, m in describe(type(cfg))} if comments else {}

    def table(d, prefix, lines):
        subs = []
        for k, v in d.items():
            if isinstance(v, dict):
                subs.append((k, v))
                continue
            if v is None:
                continue
            m = meta.get(prefix + k, {})
            note = []
            if m.get("help"):
                note.append(m["help"])
            if m.get("units"):
                note.append(f"[{m['units']}]")
            for name, sym in (("min", ">="), ("max", "<="), ("gt", ">"), ("lt", "<")):
                if name in m:
                    note.append(f"{sym} {m[name]}")
            if "choices" in m:
                note.append(("each " if isinstance(v, (list, tuple)) else "") +
                            "one of " + ", ".join(repr(c) for c in m["choices"]))
            if "min_len" in m:
                note.append(f"at least {m['min_len']} "
                            f"value{'s' if m['min_len'] > 1 else ''}")
            line = f"{k} = {_toml_value(v)}"
            if note:
                line += "  # " + " ".join(note)
            lines.append(line)
        for k, v in subs:
            lines.append("")
            lines.append(f"[{prefix}{k}]")
            table(v, f"{prefix}{k}.", lines)

    lines = []
    table(to_dict(cfg), "", lines)
    return "\n".join(lines) + "\n"
