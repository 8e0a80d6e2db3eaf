"""Suite-wide hooks.

``PLASTICITY_RECORD_SKIPPED=FILE`` appends the node id of every skipped test to FILE:
CI's second stage (``.ci/run``) installs the extras and reruns exactly those, rather
than the whole suite again.

The network's load watch (fewer threads after a run whose threads lost their cores
to another process) is off for the suite, here and in the processes it starts: the
thread tests must run on the threads they ask for however busy the machine is;
tests/test_load_watch.py turns it on where it tests it.
"""
import os

os.environ["PLASTICITY_WATCH_LOAD"] = "0"


def pytest_runtest_logreport(report):
    path = os.environ.get("PLASTICITY_RECORD_SKIPPED")
    if path and report.skipped and report.when in ("setup", "call"):
        with open(path, "a") as f:
            f.write(report.nodeid + "\n")


def pytest_collectreport(report):
    # a module skipped at import (pytest.importorskip at module level)
    path = os.environ.get("PLASTICITY_RECORD_SKIPPED")
    if path and report.skipped:
        with open(path, "a") as f:
            f.write(report.nodeid + "\n")
