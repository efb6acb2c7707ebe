"""`python -m bench [names...]`: run the registered benchmarks and merge their figures into results.json.

To add a benchmark, write a module with `run() -> dict` and add one line to BENCHMARKS. A benchmark reports
a missed target or a broken check by setting `"failed": [reasons]` in its figures; the exit code is 1 then.
"""

import importlib
import json
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"

# name → "module:function"; imported only when run, so one benchmark's imports never slow another.
BENCHMARKS: dict[str, str] = {
    "intake": "bench.intake:run",
    "plan_queries": "bench.fanout:run_plan_queries",
    "end_to_end": "bench.fanout:run_end_to_end",
    "fanout_1k_slow": "bench.fanout:run_fanout_1k_slow",
    "fanout_10k": "bench.fanout:run_fanout_10k",
}


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


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(BENCHMARKS)}.", file=sys.stderr)
        return 2
    failed = False
    for name in names:
        print(f"== {name} ==", flush=True)
        started = time.monotonic()
        figures = _load(BENCHMARKS[name])()
        figures.setdefault("seconds", round(time.monotonic() - started, 1))
        results_merge(name, figures)
        print(json.dumps({name: figures}, indent=2, sort_keys=True, ensure_ascii=False))
        failed = failed or bool(figures.get("failed"))
    print(f"Figures written to {RESULTS}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
