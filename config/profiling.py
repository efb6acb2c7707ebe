"""A profile of a worker, for finding where the delivery path spends its time.

With WORKER_PROFILE set to a file path, a Celery worker profiles every thread (yappi) from start-up until it
shuts down, then writes the functions by time to that path (text) and a pstats file beside it (`.pstat`, for
snakeviz or `python -m pstats`). The clock is CPU time (waiting on the network or the database does not
count), or wall time with WORKER_PROFILE_CLOCK=wall (for latency). Off by default: the profiler itself
roughly doubles the CPU of what it watches. yappi is a development dependency, imported only when asked for.
"""

import logging

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

logger = logging.getLogger(__name__)
TOP = 60


@worker_ready.connect
def _profile_start(**kwargs) -> None:
    if not settings.WORKER_PROFILE:
        return
    import yappi

    yappi.set_clock_type(settings.WORKER_PROFILE_CLOCK)
    yappi.start(builtins=False, profile_threads=True)
    logger.info("profile.started", extra={"path": settings.WORKER_PROFILE})


@worker_shutdown.connect
def _profile_write(**kwargs) -> None:
    if not settings.WORKER_PROFILE:
        return
    import yappi

    yappi.stop()
    stats = yappi.get_func_stats()
    stats.save(f"{settings.WORKER_PROFILE}.pstat", type="pstat")
    clock = settings.WORKER_PROFILE_CLOCK
    with open(settings.WORKER_PROFILE, "w") as out:
        out.write(f"{clock} seconds, all threads, by time in the function itself (tsub); top {TOP}\n")
        _write(stats, out, "tsub")
        out.write(f"\nBy total time including callees (ttot); top {TOP}\n")
        _write(stats, out, "ttot")
    logger.info("profile.written", extra={"path": settings.WORKER_PROFILE})


def _write(stats, out, key: str) -> None:
    stats.sort(key)
    out.write(f"{'ncall':>9} {'tsub':>8} {'ttot':>8}  function\n")
    for entry in list(stats)[:TOP]:
        where = f"{entry.module}:{entry.lineno}".replace(str(settings.BASE_DIR) + "/", "")
        out.write(f"{entry.ncall:>9} {entry.tsub:8.3f} {entry.ttot:8.3f}  {entry.name} ({where})\n")
