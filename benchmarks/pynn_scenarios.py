"""Run PyNN's own system-test scenarios (test/system/scenarios of PyNN 0.13's source
distribution) against plasticity.pynn and write a table passed / failed / not
applicable.

    python benchmarks/pynn_scenarios.py PATH/TO/pynn-0.13.0 [--out table.md]
    python benchmarks/pynn_scenarios.py PATH/TO/pynn-0.13.0 --backend nest  # reference

Fetches nothing: PATH is an unpacked source distribution (``pip download
pynn==0.13.0 --no-binary :all:``); without it the script says so and exits 0.
A scenario is "not applicable" when it raises NotImplementedError (a feature we do
not have, named in the message) or is skipped; "failed" otherwise on any exception.
"""
import argparse
import tempfile
import importlib
import inspect
import os
import sys
import traceback


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pynn_source", nargs="?", default=os.environ.get("PYNN_SOURCE"))
    ap.add_argument("--out", default=None, help="write the table (markdown) here")
    ap.add_argument("-k", default=None, help="only scenarios whose name contains this")
    ap.add_argument("--backend", default="plasticity", choices=("plasticity", "nest"),
                    help="plasticity.pynn (default) or pyNN.nest, the reference table")
    args = ap.parse_args(argv)
    src = args.pynn_source
    scen = src and os.path.join(src, "test", "system", "scenarios")
    if not scen or not os.path.isdir(scen):
        print(f"PyNN source not found ({src!r}): nothing to run")
        return 0
    import pytest
    import matplotlib
    matplotlib.use("Agg")
    if args.backend == "nest":
        import pyNN.nest as sim
    else:
        import plasticity.pynn as sim
    src, scen = os.path.abspath(src), os.path.abspath(scen)
    sys.path.insert(0, os.path.join(src, "test", "system"))
    out = os.path.abspath(args.out) if args.out else None
    # the scenarios save their data under ./Results: keep that out of the caller's
    # directory (the repository)
    work = tempfile.TemporaryDirectory(prefix="pynn-scenarios-")
    os.chdir(work.name)
    args.out = out
    rows = []
    for fname in sorted(os.listdir(scen)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = importlib.import_module(f"scenarios.{fname[:-3]}")
        for name, fn in list(vars(mod).items()):
            if not callable(fn) or not hasattr(fn, "pytestmark"):
                continue
            marks = [m for m in fn.pytestmark if m.name == "parametrize"]
            if not marks or marks[0].args[0] != "sim":
                continue
            sims = [p.id for p in marks[0].args[1]]
            if args.k and args.k not in name:
                continue
            kwargs = {}
            if "plot_figure" in inspect.signature(fn).parameters:
                kwargs["plot_figure"] = False
            try:
                fn(sim, **kwargs)
                status, why = "passed", ""
            except NotImplementedError as e:
                status, why = "not applicable", f"NotImplementedError: {e}"
            except pytest.skip.Exception as e:
                status, why = "not applicable", f"skipped: {e}"
            except AttributeError as e:
                missing = f"module '{sim.__name__}' has no attribute" in str(e)
                status = "not applicable" if missing else "failed"
                why = f"AttributeError: {e}"
            except (Exception, pytest.fail.Exception) as e:  # noqa: BLE001 - in the table
                status = "failed"
                tb = traceback.extract_tb(e.__traceback__)[-1]
                why = (f"{type(e).__name__}: {str(e)[:160]} "
                       f"({os.path.basename(tb.filename)}:{tb.lineno})")
            finally:
                try:
                    sim.end()
                except Exception:  # noqa: BLE001
                    pass
            rows.append((f"{fname[:-3]}::{name}", ",".join(sims), status,
                         why.replace("\n", " ").replace("|", "/")))
            print(f"{status:15s} {rows[-1][0]}  {why[:150]}", flush=True)
    counts = {s: sum(r[2] == s for r in rows) for s in ("passed", "failed", "not applicable")}
    lines = ["| scenario | PyNN runs it on | result | why |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines.append("")
    lines.append(", ".join(f"{k}: {v}" for k, v in counts.items()))
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
