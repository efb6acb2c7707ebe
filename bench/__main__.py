"""`python -m bench [--rounds N] [--quick] [names...]`: run the registered benchmarks, merge their figures into
results.json and print a table of targets and verdicts.

To add a benchmark, write a module with `run() -> dict` and add one line to BENCHMARKS. The figures' shape
(targets, failed) and how rounds are judged are in bench/rounds.py. The exit code is 1 when a target is
missed on its median or a check failed in any round.
"""

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

from bench.rounds import run_rounds, table

RESULTS = Path(__file__).resolve().parent / "results.json"

# name → "module:function"; imported only when run, so one benchmark's imports never slow another.
BENCHMARKS: dict[str, str] = {
    "intake": "bench.intake:run",
    "plan_queries": "bench.fanout:run_plan_queries",
    "end_to_end": "bench.fanout:run_end_to_end",
    "fanout_1k_slow": "bench.fanout:run_fanout_1k_slow",
    "fanout_10k": "bench.fanout:run_fanout_10k",
    "worker_profile": "bench.fanout:run_worker_profile",
    "scale_out": "bench.scale_out:run",
    "issue_view": "bench.linking:run_issue_view",
    "bulk_link": "bench.linking:run_bulk_link",
    "link_under_load": "bench.linking:run_link_under_load",
}
# Run only when named: diagnostics without targets, which would take a tenth of the 20-minute budget.
ON_REQUEST = {"worker_profile"}


def _load(target: str):
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def results_merge(name: str, figures: dict) -> dict:
    """Write `figures` under `name`, keeping the other benchmarks' keys; returns the whole file."""
    try:
        results = json.loads(RESULTS.read_text())
        if not isinstance(results, dict):
            results = {}
    except (FileNotFoundError, json.JSONDecodeError):
        results = {}
    results[name] = figures
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return results


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all but {', '.join(ON_REQUEST)}): "
                        f"{', '.join(BENCHMARKS)}")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")),
                        help="rounds per benchmark; targets are judged on the median (default 3)")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, for development (not for verdicts)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    names = args.names or [name for name in BENCHMARKS if name not in ON_REQUEST]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHMARKS)}.", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("--rounds must be at least 1.", file=sys.stderr)
        return 2
    if args.quick:
        os.environ["BENCH_QUICK"] = "1"
    started, summaries = time.monotonic(), {}
    for name in names:
        func = _load(BENCHMARKS[name])
        rounds = min(args.rounds, getattr(func, "max_rounds", args.rounds))
        print(f"== {name} ({rounds} round{'s' if rounds > 1 else ''}) ==", flush=True)

        def progress(i: int, figures: dict) -> None:
            shown = json.dumps({k: v["value"] for k, v in (figures.get("targets") or {}).items()})
            failed = f" FAILED: {'; '.join(figures['failed'])}" if figures.get("failed") else ""
            print(f"   round {i}: {shown}{failed}", flush=True)

        summaries[name] = run_rounds(func, rounds, on_round=progress)
        results_merge(name, summaries[name])
    print(f"\nFigures written to {RESULTS} ({round((time.monotonic() - started) / 60, 1)} min"
          f"{', QUICK sizes: not a verdict' if args.quick else ''}).\n")
    print(table(summaries))
    failures = [f"{name}: {reason}" for name, s in summaries.items() for reason in s["failed"]]
    if failures:
        print("\n" + "\n".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
