"""Reading a sweep's table ``sweep.h5`` (written by :mod:`plasticity.sweep`; the
layout is in that module's docstring): :func:`load_table` -> :class:`SweepTable`,
:func:`is_sweep_file`, :func:`format_table`. Plots, reports and analysis read sweeps
through this module, so they do not import the sweep executor (Dask)."""
import dataclasses
import json
import math
import os

import numpy as np

from ..config import ConfigError
from .common import _h5py, open_hdf5

__all__ = ["SWEEP_FORMAT", "SWEEP_FORMAT_VERSION", "SweepError", "SweepTable",
           "load_table", "is_sweep_file", "format_table"]

SWEEP_FORMAT = "plasticity-sweep"
SWEEP_FORMAT_VERSION = 1


class SweepError(ConfigError):
    """An invalid sweep (bad grid, seeds, workers, or sweep file)."""


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, np.ndarray):
        return v.tolist() if v.size <= 16 else None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v if isinstance(v, (bool, int, float, str)) or v is None else str(v)


def is_sweep_file(path):
    """True if ``path`` is an HDF5 file with ``format = "plasticity-sweep"``."""
    try:
        h5py = _h5py()
        if not os.path.isfile(path) or not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
            return (fmt.decode() if isinstance(fmt, bytes) else fmt) == SWEEP_FORMAT
    except Exception:
        return False


@dataclasses.dataclass
class SweepTable:
    path: str
    attrs: dict
    columns: list        # [{"name", "kind", "key"}] in order
    data: dict           # column name -> ndarray

    def __len__(self):
        return len(self.data["run"]) if "run" in self.data else 0

    @property
    def param_columns(self):
        return [c["name"] for c in self.columns if c["kind"] == "param"]

    @property
    def metric_columns(self):
        return [c["name"] for c in self.columns if c["kind"] == "metric"]

    def rows(self):
        names = [c["name"] for c in self.columns]
        return [{n: _plain(self.data[n][i]) for n in names} for i in range(len(self))]

    def to_pandas(self):
        import pandas as pd
        return pd.DataFrame({c["name"]: self.data[c["name"]] for c in self.columns})


def load_table(path):
    """Read ``sweep.h5`` into a :class:`SweepTable` (raises SweepError if it is not one)."""
    path = os.fspath(path)
    f = open_hdf5(path, "sweep file", error=SweepError)
    try:
        with f:
            attrs = {}
            for k, v in f.attrs.items():
                attrs[k] = _plain(v)
            if attrs.get("format") != SWEEP_FORMAT:
                raise SweepError(f"{path} is not a plasticity sweep file (format "
                                 f"{attrs.get('format')!r})")
            v = attrs.get("format_version")
            if not isinstance(v, int) or v > SWEEP_FORMAT_VERSION or v < 1:
                raise SweepError(f"{path} has sweep format version {v!r}; this plasticity "
                                 f"reads version {SWEEP_FORMAT_VERSION}")
            if "table" not in f:
                raise SweepError(f"{path}: /table is missing; the file is damaged")
            t = f["table"]
            try:
                columns = json.loads(t.attrs["columns"])
            except (KeyError, ValueError):
                raise SweepError(f"{path}: /table has no valid 'columns' attribute") from None
            data = {}
            for c in columns:
                n = c["name"]
                if n not in t:
                    raise SweepError(f"{path}: column /table/{n} is missing")
                x = t[n][()]
                if x.dtype.kind == "O":
                    x = np.array([s.decode() if isinstance(s, bytes) else s for s in x],
                                 dtype=object)
                data[n] = x
    except OSError as e:
        raise SweepError(f"{path} is damaged and cannot be read ({e})") from None
    return SweepTable(path, attrs, columns, data)


def format_table(table, *, max_error=60):
    """The table as aligned text (``plasticity inspect sweep.h5``)."""
    names = [c["name"] for c in table.columns if c["name"] not in ("file", "skipped")]
    rows = []
    for r in table.rows():
        row = []
        for n in names:
            v = r[n]
            if isinstance(v, float):
                s = "nan" if math.isnan(v) else f"{v:.6g}"
            else:
                s = str(v)
            if n == "error" and len(s) > max_error:
                s = s[:max_error - 3] + "..."
            row.append(s)
        rows.append(row)
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths)).rstrip()]
    for r in rows:
        lines.append("  ".join(s.ljust(w) for s, w in zip(r, widths)).rstrip())
    return "\n".join(lines)
