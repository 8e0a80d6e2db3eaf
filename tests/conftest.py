"""Suite-wide hooks.

``PLASTICITY_RECORD_SKIPPED=FILE`` appends the node id of every skipped test to FILE:
CI's second stage (``.ci/run``) installs the extras and reruns exactly those, rather
than the whole suite again.
"""
import os


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
