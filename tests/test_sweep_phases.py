"""run_sweep's phases without Dask installed: the Dask path through a stand-in client
(futures finishing out of order, one lost), how often sweep.h5 is rewritten, and a
rerun that finds everything complete."""
import sys
import types

import pytest

from plasticity import sweep

from _runfile_utils import TOY

GRID = ["eta=0.05,0.1"]


class _Future:
    def __init__(self, fn, args, lost):
        self.fn, self.args, self.lost = fn, args, lost

    def result(self):
        if self.lost:
            raise KilledWorker("the worker died")
        return self.fn(*self.args)


class KilledWorker(Exception):
    pass


class StandInClient:
    """What run_sweep uses of a dask.distributed.Client: submit(..., key, pure)."""

    def __init__(self, lose=()):
        self.keys, self.lose, self.closed = [], set(lose), False

    def submit(self, fn, *args, key, pure):
        assert pure is False
        self.keys.append(key)
        return _Future(fn, args, lost=len(self.keys) - 1 in self.lose)

    def close(self):
        self.closed = True


@pytest.fixture
def fake_dask(monkeypatch):
    dask = types.ModuleType("dask")
    dd = types.ModuleType("dask.distributed")
    dd.as_completed = lambda futs: list(reversed(futs))   # out of submission order
    dask.distributed = dd
    monkeypatch.setitem(sys.modules, "dask", dask)
    monkeypatch.setitem(sys.modules, "dask.distributed", dd)
    return dd


def _table(res):
    t = sweep.load_table(res.path)
    return {c["name"]: t.data[c["name"]].tolist() for c in t.columns
            if c["name"] not in {"skipped"} | set(sweep.VOLATILE_METRICS)}


def test_dask_path_with_a_stand_in_client(fake_dask, tmp_path):
    serial = sweep.run_sweep(TOY, GRID, seeds=2, out=str(tmp_path / "s"), small=True,
                             workers=1)
    client = StandInClient(lose={1})
    res = sweep.run_sweep(TOY, GRID, seeds=2, out=str(tmp_path / "d"), small=True,
                          client=client)
    assert not client.closed                       # a given client is left running
    assert client.keys == [f"plasticity-run-{p.run}" for p in res.points]
    assert [p.status for p in res.points] == ["complete", "failed", "complete",
                                              "complete"]
    assert res.points[1].error == "KilledWorker: the worker died"
    assert res.points[1].metrics == {}
    a, b = _table(serial), _table(res)
    for col in a:
        if col in ("status", "error", "file") or col not in b:
            continue
        for i in (0, 2, 3):
            assert a[col][i] == b[col][i], col
    assert b["status"][1] == "failed"
    assert set(b) == set(a)


def test_table_rewrites_follow_write_every(tmp_path, monkeypatch):
    calls = []
    write = sweep._write_table
    monkeypatch.setattr(sweep, "_write_table",
                        lambda *a, **k: (calls.append(a[2]), write(*a, **k)))
    sweep.run_sweep(TOY, GRID, seeds=1, out=str(tmp_path / "a"), small=True, workers=1,
                    write_every=1e9)
    assert len(calls) == 2                          # at the start and at the end
    calls.clear()
    res = sweep.run_sweep(TOY, GRID, seeds=1, out=str(tmp_path / "b"), small=True,
                          workers=1, write_every=0.0)
    assert len(calls) == 2 + 2                      # and after each run
    calls.clear()
    again = sweep.run_sweep(TOY, GRID, seeds=1, out=str(tmp_path / "b"), small=True,
                            workers=1, write_every=0.0)
    assert len(calls) == 2 and all(p.skipped for p in again.points)
    assert [p.metrics for p in again.points] == [p.metrics for p in res.points]


def test_a_sweep_of_another_experiment_is_refused(tmp_path):
    sweep.run_sweep(TOY, GRID, seeds=1, out=str(tmp_path), small=True, workers=1)
    with pytest.raises(sweep.SweepError, match="is a sweep of experiment"):
        sweep.run_sweep("bi_poo_1998", ["n_pairs=10"], seeds=1, out=str(tmp_path),
                        small=True, workers=1)
