"""Tests that time themselves are not tests (issue 16): no assertion in tests/ depends on
how long something took on this machine. Under load a wall-clock limit fails a correct
program; speed is measured in benchmarks/, not asserted in the test suite.

The check is syntactic (per test module): a name bound to the result of a clock call
(``time.monotonic()``, ``perf_counter``, ``time.time``, ``process_time`` ...), or to an
expression using such a name, is "a measured time"; no ``assert`` may use one, nor a
clock call, nor an upper bound on a timing entry (``r["wall_s"] < 40``).
"""
import ast
import os
import re

import pytest

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOCKS = {"time", "monotonic", "perf_counter", "process_time", "thread_time",
          "monotonic_ns", "perf_counter_ns", "process_time_ns", "time_ns"}
TIMING_KEY = re.compile(r"(^|_)(wall|cpu|elapsed|seconds|duration_s)(_|$)|_s$")


def _is_clock_call(node):
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCKS and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "time")


def _uses(node, tainted):
    for n in ast.walk(node):
        if _is_clock_call(n) or (isinstance(n, ast.Name) and n.id in tainted):
            return True
    return False


def _timing_upper_bound(test):
    """``x["wall_s"] < limit`` (or ``limit > x["wall_s"]``)."""
    for n in ast.walk(test):
        if not isinstance(n, ast.Compare):
            continue
        sides = [n.left] + list(n.comparators)
        for k, op in enumerate(n.ops):
            small = sides[k] if isinstance(op, (ast.Lt, ast.LtE)) else \
                sides[k + 1] if isinstance(op, (ast.Gt, ast.GtE)) else None
            if isinstance(small, ast.Subscript) and isinstance(small.slice, ast.Constant) \
                    and isinstance(small.slice.value, str) \
                    and TIMING_KEY.search(small.slice.value):
                return True
    return False


def wall_clock_assertions(source, filename="<test>"):
    """The line numbers of the assertions in ``source`` that depend on a wall clock."""
    tree = ast.parse(source, filename)
    tainted = set()
    changed = True
    while changed:  # names bound to clock readings, and to expressions of them
        changed = False
        for n in ast.walk(tree):
            if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and \
                    n.value is not None and _uses(n.value, tainted):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                for t in targets:
                    for name in ast.walk(t):
                        if isinstance(name, ast.Name) and name.id not in tainted:
                            tainted.add(name.id)
                            changed = True
    bad = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Assert) and (_uses(n.test, tainted)
                                          or _timing_upper_bound(n.test)):
            bad.append(n.lineno)
    return bad


def _test_files():
    for root, _dirs, files in os.walk(TESTS):
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(root, f)


def test_the_check_sees_a_wall_clock_assertion():
    # the shape of the assertion issue 16 found in test_determinism.py
    src = ("import time\nt0 = time.monotonic()\nrun()\nelapsed = time.monotonic() - t0\n"
           "assert n > 0\nassert elapsed < 40, elapsed\n")
    assert wall_clock_assertions(src) == [6]
    assert wall_clock_assertions("import time\nassert time.perf_counter() - t < 1\n") == [2]
    assert wall_clock_assertions("assert short['wall_s'] < 40\n") == [1]
    # a deadline that only bounds a loop, and a sanity check, are not assertions on speed
    assert wall_clock_assertions("import time\nd = time.monotonic() + 30\n"
                                 "while time.monotonic() < d:\n    pass\n"
                                 "assert r['sim_cpu_s'] >= 0.0\n") == []


@pytest.mark.parametrize("path", sorted(_test_files()),
                         ids=lambda p: os.path.relpath(p, TESTS))
def test_no_assertion_depends_on_the_wall_clock(path):
    with open(path, encoding="utf-8") as fh:
        src = fh.read()
    bad = wall_clock_assertions(src, path)
    assert not bad, (f"{os.path.relpath(path, TESTS)}: assertions on lines {bad} depend on "
                     f"how long something took; measure speed in benchmarks/ instead")
