"""Rounds, medians and verdicts: a target met only on a good day is not met.

Every benchmark runs `rounds` times (3 by default). A round returns its figures in the shape every benchmark
shares:

    {"<figure>": <number or nested dict>, ...,
     "targets": {"<figure>": {"value": <number>, "target": <number>, "op": "<=" or ">="}},
     "failed": [<reasons that are not targets: lost or duplicated notes, a 5xx, ...>]}

The summary keeps every round, the median and the spread (min, max) of each numeric figure, and judges each
target on the median of its values across rounds. A check that failed in any round fails the benchmark.

A benchmark that is cheaper to repeat inside one set-up (the intake servers, say) marks its function with
`own_rounds = True`: it is called once with `rounds=N` and returns the list of its rounds' figures. One that
is already a series of runs, too long to repeat within the budget of `make bench`, sets `max_rounds`.

`--quick` sets BENCH_QUICK=1 (inherited by the benchmarks' child processes); benchmarks read it through
`sized(full, quick)` to run reduced sizes while developing. Quick figures are for direction, not for verdicts.
"""

import os
import statistics
import time
import traceback
from collections.abc import Callable

OPS = {"<=": lambda value, target: value <= target, ">=": lambda value, target: value >= target}


def quick() -> bool:
    return os.environ.get("BENCH_QUICK") == "1"


def sized(full, reduced):
    """`full` in a real run, `reduced` under --quick."""
    return reduced if quick() else full


def _numbers(figures: dict, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of nested figures, as dotted names (targets, failures and lists left out)."""
    found: dict[str, float] = {}
    for key, value in figures.items():
        if key in ("targets", "failed", "rounds"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(_numbers(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found[name] = value
    return found


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def summarise(rounds: list[dict]) -> dict:
    """The medians, spreads, verdicts and failures of a benchmark's rounds (see the module docstring)."""
    numbers = [_numbers(r) for r in rounds]
    names = sorted({name for n in numbers for name in n})
    median, spread = {}, {}
    for name in names:
        values = [n[name] for n in numbers if name in n]
        median[name] = _median(values)
        spread[name] = [min(values), max(values)]
    targets, failed = {}, []
    for name in sorted({t for r in rounds for t in (r.get("targets") or {})}):
        given = [r["targets"][name] for r in rounds if name in (r.get("targets") or {})]
        values = [t["value"] for t in given if isinstance(t.get("value"), int | float)]
        target, op = given[-1]["target"], given[-1]["op"]
        value = _median(values) if len(values) == len(given) else None  # a round without a value misses
        passed = value is not None and OPS[op](value, target)
        targets[name] = {
            "value": value,
            "target": target,
            "op": op,
            "spread": [min(values), max(values)] if values else None,
            "rounds": [t.get("value") for t in given],
            "passed": passed,
        }
        if not passed:
            failed.append(f"{name}: median {value} (rounds {targets[name]['rounds']}), target {op} {target}")
    for i, r in enumerate(rounds, 1):
        failed += [f"round {i}: {reason}" for reason in r.get("failed") or []]
    return {"median": median, "spread": spread, "targets": targets, "failed": failed, "rounds": rounds}


def run_rounds(func: Callable, rounds: int, *, on_round: Callable[[int, dict], None] | None = None) -> dict:
    """Run a benchmark `rounds` times (or once, if it repeats itself) and summarise."""
    started = time.monotonic()
    rounds = min(rounds, getattr(func, "max_rounds", rounds))
    results: list[dict] = []
    if getattr(func, "own_rounds", False):
        results = _guarded(lambda: list(func(rounds=rounds)), wrap=True)
        for i, figures in enumerate(results, 1):
            if on_round:
                on_round(i, figures)
    else:
        for i in range(1, rounds + 1):
            round_started = time.monotonic()
            figures = _guarded(func)
            figures.setdefault("seconds", round(time.monotonic() - round_started, 1))
            results.append(figures)
            if on_round:
                on_round(i, figures)
    summary = summarise(results)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    summary["quick"] = quick()
    return summary


def _guarded(call: Callable, *, wrap: bool = False):
    """A crash becomes a round that failed, so the other benchmarks still run."""
    try:
        return call()
    except Exception as exc:
        traceback.print_exc()
        crashed = {"failed": [f"crashed: {type(exc).__name__}: {str(exc)[:300]}"]}
        return [crashed] if wrap else crashed


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def table(summaries: dict[str, dict]) -> str:
    """benchmark | figure | median | spread | target | verdict, one line per target."""
    rows = [("benchmark", "figure", "median", "spread (min..max)", "target", "verdict")]
    for name, summary in summaries.items():
        for figure, t in (summary.get("targets") or {}).items():
            spread = f"{_fmt(t['spread'][0])}..{_fmt(t['spread'][1])}" if t.get("spread") else "-"
            rows.append((name, figure, _fmt(t["value"]), spread, f"{t['op']} {_fmt(t['target'])}",
                         "PASS" if t["passed"] else "MISS"))
        checks = [f for f in summary.get("failed") or [] if f.startswith("round ")]
        if checks:
            rows.append((name, "checks", "", "", "", f"FAIL ({len(checks)})"))
        if not summary.get("targets") and not checks:
            rows.append((name, "(no targets)", "", "", "", "PASS" if not summary.get("failed") else "FAIL"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
