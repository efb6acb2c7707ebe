"""Fan-out, end-to-end latency and planning-query benchmarks.

Each runs in a child process (`python -m bench.fanout <mode> <json options>`) with its own fresh PostgreSQL
database, a dedicated Redis database, the Intercom simulator as a separate process (200 ms latency, a rate
limit per 10 s) and a real Celery worker and beat — the production code paths. The webhook goes in through
the real endpoint; the simulator's ledger says what reached Intercom.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from sandbox.processes import (
    REPO,
    celery_beat_command,
    celery_worker_command,
    fresh_database,
    intercom_simulator,
    manage,
    process,
)

BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
SAMPLE = "mattermost-plugin-jira/webhook-issue-updated-started-working.json"
LATENCY = 0.2


def run_fanout_10k() -> dict:
    return _in_child("fanout", conversations=10_000, limit=1666)


def run_fanout_1k_slow() -> dict:
    return _in_child("fanout", conversations=1_000, limit=167)


def run_end_to_end() -> dict:
    return _in_child("end_to_end", samples=60)


def run_plan_queries() -> dict:
    return _in_child("plan_queries")


def _in_child(mode: str, **options) -> dict:
    with fresh_database("connector_bench_fanout") as database_url, tempfile.TemporaryDirectory() as var:
        env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": BENCH_REDIS,
            "VAR_DIR": var,
            "PYTHONUNBUFFERED": "1",
            "DELIVERY_SWEEP_SECONDS": "2",
        }
        manage(env, "migrate", "--noinput")
        done = subprocess.run(
            [sys.executable, "-m", "bench.fanout", mode, json.dumps(options)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode:
            raise RuntimeError(f"bench.fanout {mode} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        if os.environ.get("BENCH_DEBUG"):
            print(done.stderr[-3000:], file=sys.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])


# --- the child ------------------------------------------------------------------------------------------------


def _simulator(limit: int):
    log = Path(os.environ["VAR_DIR"]) / "intercom.log"
    return intercom_simulator(rate_limit=limit, latency=LATENCY, log=log)


@contextmanager
def _worker_and_beat():
    var = Path(os.environ["VAR_DIR"])
    worker = celery_worker_command(name="bench", loglevel="WARNING")
    beat = celery_beat_command(var / "beat-schedule", loglevel="WARNING")
    with process(worker, var / "worker.log") as w, process(beat, var / "beat.log"):
        _wait_for_ready(w)
        yield w


def _wait_for_ready(worker) -> None:
    from config.celery import app  # Django is set up in the child

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
        if worker.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError("the Celery worker did not start")


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.max_kb, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.25):
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.max_kb = max(self.max_kb, int(line.split()[1]))
            except OSError:
                return


def _world(sim_url: str, control, conversations: int):
    from connector.models import IntercomWorkspace, JiraSite, ProjectConnection  # Django is set up in the child
    from linking.models import ConversationLink  # Django is set up in the child

    payload = json.loads((_contracts() / "jira-webhooks" / SAMPLE).read_text())
    issue = payload["issue"]
    state = control.get("state")
    site = JiraSite.objects.create(
        name="Bench Jira",
        base_url="https://bench.atlassian.net",
        api_token="t",  # noqa: S106 - the simulator accepts anything here
        health="ok",
        app_account_id="connector-app-user",
    )
    workspace = IntercomWorkspace.objects.create(
        name="Bench",
        workspace_id=state["app"]["id_code"],
        api_base_url=sim_url,
        access_token=state["token"],
        client_secret="s",  # noqa: S106 - no Intercom webhooks in this benchmark
        app_admin_id=str(state["app_admin"]["id"]),
        health="ok",
    )
    ProjectConnection.objects.create(
        site=site,
        workspace=workspace,
        project_id=issue["fields"]["project"]["id"],
        project_key=issue["fields"]["project"]["key"],
    )
    ids = control.post("conversations/bulk", {"count": conversations})["ids"] if conversations else []
    ConversationLink.objects.bulk_create(
        (
            ConversationLink(
                site=site,
                issue_id=issue["id"],
                issue_key=issue["key"],
                workspace=workspace,
                conversation_id=cid,
                source="api",
            )
            for cid in ids
        ),
        batch_size=2000,
    )
    return site, payload, ids


def _contracts() -> Path:
    from django.conf import settings

    return Path(settings.CONTRACTS_DIR)


def _post(site, payload: dict) -> int:
    from django.test import Client

    from connector.signatures import sign  # Django is set up in the child

    body = json.dumps(payload).encode()
    response = Client().post(
        f"/webhooks/jira/{site.public_id}",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=sign(body, site.webhook_secret),
        HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER=str(uuid.uuid4()),
    )
    return response.status_code


def fanout(conversations: int, limit: int) -> dict:
    from deliveries.models import Delivery  # Django is set up in the child

    floor = conversations / limit * 10
    with _simulator(limit) as (sim_url, control, _), _worker_and_beat() as worker:
        site, payload, _ids = _world(sim_url, control, conversations)
        sampler = RssSampler(worker.pid)
        sampler.start()
        started = time.time()
        assert _post(site, payload) == 202
        deadline = time.monotonic() + floor * 2 + 120
        while time.monotonic() < deadline:
            done = Delivery.objects.filter(status__in=["sent", "failed"]).count()
            if done >= conversations:
                break
            time.sleep(0.5)
        sampler.stop.set()
        ledger = control.get("ledger")
    notes = [e for e in ledger["entries"] if e["kind"] == "note"]
    counts = ledger["counts"]
    lost = conversations - len(counts)
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    seconds = (max(e["at"] for e in notes) - started) if notes else None
    figures = {
        "limit_per_10s": limit,
        "conversations": conversations,
        "seconds": round(seconds, 1) if seconds else None,
        "floor_seconds": round(floor, 1),
        "lost": lost,
        "duplicates": duplicates,
        "max_calls_per_window": ledger["max_calls_per_window"],
        "worker_rss_mb": round(sampler.max_kb / 1024, 1),
        "target_seconds": round(1.1 * floor + 10, 1),
    }
    failed = []
    if seconds is None or seconds > figures["target_seconds"]:
        failed.append(f"took {figures['seconds']} s, target ≤ {figures['target_seconds']} s")
    if lost or duplicates:
        failed.append(f"{lost} lost and {duplicates} duplicated notes")
    if ledger["max_calls_per_window"] > limit:
        failed.append(f"{ledger['max_calls_per_window']} calls in one window, limit {limit}")
    if figures["worker_rss_mb"] > 250:
        failed.append(f"worker RSS {figures['worker_rss_mb']} MB > 250 MB")
    if failed:
        figures["failed"] = failed
    return figures


def end_to_end(samples: int) -> dict:
    with _simulator(1666) as (sim_url, control, _), _worker_and_beat():
        site, payload, _ids = _world(sim_url, control, 1)
        from deliveries.models import Delivery  # Django is set up in the child

        starts = []
        for n in range(samples):
            payload["changelog"]["id"] = str(900000 + n)  # a new change each time, not a redelivery
            sent_before = Delivery.objects.filter(status="sent").count()
            starts.append(time.time())
            assert _post(site, payload) == 202
            deadline = time.monotonic() + 10
            # Poll our own database (cheap), not the simulator, so measuring does not slow what is measured.
            while time.monotonic() < deadline and Delivery.objects.filter(status="sent").count() == sent_before:
                time.sleep(0.01)
            time.sleep(0.1)
        notes = sorted(e["at"] for e in control.get("ledger")["entries"] if e["kind"] == "note")
        latencies = [(at - started) * 1000 for at, started in zip(notes, starts, strict=False)]
        from connector.models import WebhookEvent  # Django is set up in the child
        from deliveries.models import Delivery  # Django is set up in the child

        stages = _stages(WebhookEvent.objects.order_by("received_at"), Delivery.objects.order_by("created_at"))
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    figures = {
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "samples": len(latencies),
        "simulator_latency_ms": LATENCY * 1000,
        "median_stage_ms": stages,
    }
    failed = []
    if len(latencies) < samples:
        failed.append(f"{samples - len(latencies)} notes never arrived")
    if figures["p50_ms"] > 300 or figures["p99_ms"] > 1500:
        failed.append("targets are p50 ≤ 300 ms and p99 ≤ 1500 ms")
    if failed:
        figures["failed"] = failed
    return figures


def _stages(events, deliveries) -> dict:
    """Where the time goes, from the rows' own timestamps (medians, ms)."""

    def median(values):
        values = sorted(values)
        return round(values[len(values) // 2], 1) if values else None

    by_event = {d.webhook_event_id: d for d in deliveries}
    received_to_planned, planned_to_sent = [], []
    for e in events:
        d = by_event.get(e.pk)
        if d and d.sent_at:
            received_to_planned.append((d.created_at - e.received_at).total_seconds() * 1000)
            planned_to_sent.append((d.sent_at - d.created_at).total_seconds() * 1000)
    if os.environ.get("BENCH_DEBUG"):
        print(sorted(received_to_planned)[-8:], sorted(planned_to_sent)[-8:], file=sys.stderr)
    return {"received_to_planned": median(received_to_planned), "planned_to_sent": median(planned_to_sent)}


def plan_queries() -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from connector.jira_events import parse_jira_event  # Django is set up in the child
    from linking.models import ConversationLink  # Django is set up in the child
    from notifications.planning import plan_event  # Django is set up in the child

    with _simulator(1666) as (sim_url, control, _):
        site, payload, _ids = _world(sim_url, control, 0)
    workspace = site.projects.get().workspace
    figures = {}
    for count in (1, 100, 10_000):
        payload["issue"]["id"] = str(700000 + count)
        ConversationLink.objects.bulk_create(
            (
                ConversationLink(
                    site=site,
                    issue_id=payload["issue"]["id"],
                    issue_key="SUP-9",
                    workspace=workspace,
                    conversation_id=str(n),
                    source="api",
                )
                for n in range(count)
            ),
            batch_size=5000,
        )
        (event,) = parse_jira_event(payload, site_url=site.base_url).events
        with CaptureQueriesContext(connection) as queries:
            made = plan_event(site=site, event=event)
        assert made == count, (made, count)
        figures[str(count)] = len(queries)
    if len(set(figures.values())) != 1:
        figures["failed"] = ["the number of queries grows with the number of links"]
    return figures


def _child(mode: str, options: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import redis

    redis.Redis.from_url(BENCH_REDIS).flushdb()
    result = {"fanout": fanout, "end_to_end": end_to_end, "plan_queries": plan_queries}[mode](**options)
    print(json.dumps(result))


if __name__ == "__main__":
    _child(sys.argv[1], json.loads(sys.argv[2]))
