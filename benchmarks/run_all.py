"""Run B1, B2 and B3 (ours vs Brian2 cpp_standalone) and print one summary table.

    python benchmarks/run_all.py [--quick] [--repeats N] [--ours-only] [--only b1,b3]
                                 [--json FILE]

Each benchmark script runs in its own process (and each measured run in a fresh
process below it, see common.py); the per-benchmark tables are printed as they finish,
then the summary: median CPU seconds of the simulation phase, build/compile seconds,
peak RSS and the ratio Brian2 / ours against the issue's targets.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# targets: B1 and B3 from issue 2; B2 from issue 19 item 3 (was 5x in issue 2)
SCRIPTS = [("b1", "b1_song.py", 10.0), ("b2", "b2_scaled.py", 10.0),
           ("b3", "b3_diehl_cook.py", 10.0)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--ours-only", action="store_true")
    ap.add_argument("--only", default=None, help="comma-separated subset: b1,b2,b3")
    ap.add_argument("--json", default=None, help="write all rows to this file")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    results, failed = {}, []
    for key, script, target in SCRIPTS:
        if only and key not in only:
            continue
        fd, path = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        cmd = [sys.executable, os.path.join(HERE, script), "--json", path]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--ours-only"] if args.ours_only else []
        cmd += ["--repeats", str(args.repeats)] if args.repeats else []
        print("$ " + " ".join(cmd[1:]), flush=True)
        rc = subprocess.call(cmd)
        if rc != 0:
            failed.append(key)
        else:
            with open(path) as f:
                results[key] = dict(json.load(f), target=target)
        os.unlink(path)
    print("\n## Summary (ratio = Brian2 cpp_standalone / ours, CPU of the simulation "
          "phase, medians)")
    print("| benchmark | unit | ours | Brian2 cpp_standalone | ratio | target | "
          "ours build s | Brian2 build+compile s | ours peak RSS MB | "
          "Brian2 peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, res in results.items():
        rows = {r["side"]: r for r in res["rows"]}
        o = rows.get("plasticity")
        b = rows.get("Brian2 cpp_standalone")
        if b is None:
            print(f"| {key.upper()} | {res['unit']} | {o['sim_median']:.4g} | - | - | "
                  f">= {res['target']:g}x | {o['build_s']:.2f} | - | "
                  f"{o['peak_rss_mb']:.0f} | - |")
            continue
        ratio = b["sim_median"] / o["sim_median"]
        print(f"| {key.upper()} | {res['unit']} | {o['sim_median']:.4g} | "
              f"{b['sim_median']:.4g} | {ratio:.1f}x | "
              f">= {res['target']:g}x {'met' if ratio >= res['target'] else 'MISSED'} | "
              f"{o['build_s']:.2f} | {b['build_s']:.1f} | {o['peak_rss_mb']:.0f} | "
              f"{b['peak_rss_mb']:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
