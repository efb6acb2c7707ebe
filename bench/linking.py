"""Linking at scale: the issue view, bulk linking, and notes while thousands of links are written to Jira.

Each runs in a child process (`python -m bench.linking <mode> <json options>`) with a fresh PostgreSQL
database, its own Redis database, the Intercom and Jira simulators as separate processes (Jira's burst limit
enforced, with Retry-After), gunicorn as the Procfile runs it, and real Celery workers:

- issue_view: server time of GET /issues/KEY/ (first page of cards) at 10, 100 and 1,000 links, seen from a
  client on loopback, and the Intercom calls each view makes (the simulator counts them). The viewer is an
  admin, so access needs no Jira permission call; the issue itself is read from Jira once and cached.
- bulk_link: POST /api/links/bulk/ with 1,000 conversations; seconds until the call answered and the issue
  view shows them all, and from the answer (the links are committed, so Jira writes can begin) until Jira has
  every remote link, the count field and the property — against what the simulator's rate limit allows at
  best ((links + 2) / calls per second).
- link_under_load: the Procfile's two workers (webhooks, deliveries, default | housekeeping); while 2,000
  links are being written to Jira, Jira transitions of another issue go through the real webhook endpoint,
  and each note's end-to-end latency (webhook posted → note at Intercom) is measured.
"""

import json
import os
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from bench.child import run_child
from bench.fanout import _percentile, _post, _wait_for_ready
from bench.rounds import sized
from bench.servers import gunicorn
from sandbox.jira import COUNT_FIELD
from sandbox.processes import (
    celery_beat_command,
    celery_worker_command,
    free_port,
    intercom_simulator,
    process,
    wait_for_line,
)
from sandbox.server import SimControl

BENCH_REDIS = os.environ.get("BENCH_LINKING_REDIS_URL", "redis://127.0.0.1:6379/12")
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "connector_bench") + "_linking"
JIRA_RATE = 50  # Jira calls per second per credential, as the simulator enforces it
INTERCOM_LIMIT = 1666  # per 10 seconds
TRANSITION_SAMPLE = "mattermost-plugin-jira/webhook-issue-updated-started-working.json"
APP_USER_TOKEN = "app-token"  # noqa: S105 - the Jira simulator's app user


def run_issue_view() -> dict:
    return _in_child("issue_view", sizes=[10, 100, 1000], views=sized(60, 15))


def run_bulk_link() -> dict:
    return _in_child("bulk_link", conversations=sized(1000, 200), jira_rate=JIRA_RATE)


def run_link_under_load() -> dict:
    return _in_child("link_under_load", links=sized(2000, 600), samples=sized(30, 10), jira_rate=JIRA_RATE)


def _in_child(mode: str, **options) -> dict:
    return run_child("bench.linking", mode, options, database=BENCH_DATABASE, redis_url=BENCH_REDIS, timeout=1200)


# --- the child ------------------------------------------------------------------------------------------------


def _var() -> Path:
    return Path(os.environ["VAR_DIR"])


@contextmanager
def _simulators(*, jira_rate: int, intercom_latency: float = 0.05):
    port = free_port()
    log = _var() / "jira.log"
    args = [sys.executable, "-m", "sandbox", "jira", "--port", str(port), "--jira-rate-limit", str(jira_rate)]
    with intercom_simulator(rate_limit=INTERCOM_LIMIT, latency=intercom_latency, log=_var() / "intercom.log") as (
        intercom_url,
        intercom,
        _,
    ), process(args, log):
        wait_for_line(log, "http://")
        jira_url = f"http://127.0.0.1:{port}"
        yield jira_url, SimControl(jira_url), intercom_url, intercom


@contextmanager
def _workers(*specs: tuple[str, int]):
    """Celery workers, one per (queues, concurrency), and beat; by default one worker serving every queue."""
    specs = specs or (("webhooks,deliveries,default,housekeeping", 8),)
    commands = [
        (celery_worker_command(name=f"bench{n}", queues=queues, concurrency=concurrency, loglevel="WARNING"),
         _var() / f"worker{n}.log")
        for n, (queues, concurrency) in enumerate(specs)
    ]
    with (
        process(celery_beat_command(_var() / "beat-schedule", loglevel="WARNING"), _var() / "beat.log"),
        _processes(commands) as procs,
    ):
        for proc in procs:
            _wait_for_ready(proc)
        yield procs


@contextmanager
def _processes(commands: list[tuple[list[str], Path]]):
    if not commands:
        yield []
        return
    (command, log), rest = commands[0], commands[1:]
    with process(command, log) as first, _processes(rest) as others:
        yield [first, *others]


def _world(jira_url: str, jira, intercom_url: str, intercom) -> dict:
    from django.contrib.auth import get_user_model

    from accounts.services import api_token_create  # Django is set up in the child
    from connector.models import IntercomWorkspace, JiraSite, ProjectConnection  # Django is set up in the child
    from linking.models import SiteSearchSettings  # Django is set up in the child

    state, istate = jira.get("state"), intercom.get("state")
    app_user = state["app_user"]
    site = JiraSite.objects.create(
        name="Bench Jira", base_url=jira_url, account_email=app_user["emailAddress"], api_token=APP_USER_TOKEN,
        app_account_id=app_user["accountId"], health="ok",
    )
    workspace = IntercomWorkspace.objects.create(
        name="Bench", workspace_id=istate["app"]["id_code"], api_base_url=intercom_url, access_token=istate["token"],
        client_secret="s",  # noqa: S106 - webhooks from Intercom are not part of these benchmarks
        app_admin_id=str(istate["app_admin"]["id"]), health="ok",
    )
    sup = next(p for p in state["projects"] if p["key"] == "SUP")
    project = ProjectConnection.objects.create(site=site, workspace=workspace, project_id=sup["id"], project_key="SUP")
    SiteSearchSettings.objects.create(site=site, count_field_id=COUNT_FIELD, count_field_name="Intercom conversations")
    admin = get_user_model().objects.create_superuser("bench", "bench@example.com", uuid.uuid4().hex)
    _, token = api_token_create(user=admin, name="bench")
    return {"site": site, "workspace": workspace, "project": project, "admin": admin, "token": token,
            "admin_id": str(istate["app_admin"]["id"])}


def _session_cookie(user) -> dict:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {settings.SESSION_COOKIE_NAME: session.session_key}


def _issue(jira, summary: str) -> dict:
    return jira.post("issues", {"project_key": "SUP", "summary": summary})


def _intercom_calls(intercom) -> int:
    return sum(intercom.get("ledger")["calls_per_window"].values())


def _seed_links(world: dict, issue: dict, ids: list[str]) -> None:
    """Links and snapshots as the background refresh leaves them (the view's work, not the refresh's)."""
    from django.utils import timezone

    from linking.models import ConversationLink, ConversationSnapshot  # Django is set up in the child

    now = timezone.now()
    ConversationLink.objects.bulk_create(
        (ConversationLink(site=world["site"], issue_id=issue["id"], issue_key=issue["key"], project_key="SUP",
                          workspace=world["workspace"], conversation_id=cid, source="api") for cid in ids),
        batch_size=2000,
    )
    ConversationSnapshot.objects.bulk_create(
        (
            ConversationSnapshot(
                workspace=world["workspace"], conversation_id=cid, fetched_at=now, state="open",
                subject=f"Checkout fails for order {cid}", customer=f"Customer {n}", last_activity_at=now,
                assignee_name="Ada Admin",
                conversation={
                    "type": "conversation", "id": cid, "state": "open", "admin_assignee_id": world["admin_id"],
                    "updated_at": int(now.timestamp()), "created_at": int(now.timestamp()),
                    "source": {"subject": f"Checkout fails for order {cid}", "body": "<p>It fails.</p>"},
                    "tags": {"tags": [{"name": "vip"}]}, "contacts": {"contacts": [{"id": f"c{n}"}]},
                },
                contact={"id": f"c{n}", "name": f"Customer {n}", "email": f"customer{n}@example.com"},
                company={"id": f"co{n}", "name": f"Company {n}", "plan": {"name": "Pro"}},
            )
            for n, cid in enumerate(ids)
        ),
        batch_size=2000,
    )


def issue_view(sizes: list[int], views: int) -> dict:
    import httpx

    figures: dict = {}
    with _simulators(jira_rate=1000) as (jira_url, jira, intercom_url, intercom):
        world = _world(jira_url, jira, intercom_url, intercom)
        with gunicorn("config.wsgi:application", dict(os.environ)) as port, httpx.Client(
            base_url=f"http://127.0.0.1:{port}", cookies=_session_cookie(world["admin"]), timeout=30
        ) as http:
            for size in sizes:
                issue = _issue(jira, f"{size} linked conversations")
                ids = intercom.post("conversations/bulk", {"count": size})["ids"]
                _seed_links(world, issue, ids)
                for path, name in ((f"/issues/{issue['key']}/", str(size)),
                                   (f"/issues/{issue['key']}/?view=table", f"{size}_table")):
                    first = http.get(path)  # reads the issue from Jira once (then cached, as in production)
                    assert first.status_code == 200, first.text[:500]
                    assert f'data-testid="link-count">{size}<' in first.text
                    before, times = _intercom_calls(intercom), []
                    for _ in range(views):
                        started = time.perf_counter()
                        response = http.get(path)
                        times.append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200
                    figures[name] = {
                        "p50_ms": _percentile(times, 0.5),
                        "p95_ms": _percentile(times, 0.95),
                        "intercom_calls_per_view": round((_intercom_calls(intercom) - before) / views, 3),
                    }
    figures["views_per_size"] = views
    top = str(max(sizes))
    figures["targets"] = {
        f"p95_ms_at_{top}_links": {"value": figures[top]["p95_ms"], "target": 150, "op": "<="},
        f"p95_ms_at_{top}_links_table": {"value": figures[f"{top}_table"]["p95_ms"], "target": 150, "op": "<="},
        "intercom_calls_per_view": {
            "value": max(v["intercom_calls_per_view"] for k, v in figures.items() if isinstance(v, dict)),
            "target": 0,
            "op": "<=",
        },
    }
    return figures


def _jira_written(jira, key: str, links: int) -> bool:
    from linking.jira_sync import PROPERTY_KEY  # Django is set up in the child

    seen = jira.get(f"issues/{key}/connector")
    prop = seen["properties"].get(PROPERTY_KEY) or {}
    return seen["remotelinks"] >= links and seen["count_field"] == links and prop.get("count") == links


def _bulk(http, world: dict, issue: dict, ids: list[str]):
    return http.post(
        "/api/links/bulk/", json={"issue": issue["key"], "conversations": ids},
        headers={"Authorization": f"Bearer {world['token']}"},
    )


def bulk_link(conversations: int, jira_rate: int) -> dict:
    import httpx

    with _simulators(jira_rate=jira_rate) as (jira_url, jira, intercom_url, intercom), _workers():
        world = _world(jira_url, jira, intercom_url, intercom)
        issue = _issue(jira, "Bulk")
        ids = intercom.post("conversations/bulk", {"count": conversations})["ids"]
        with gunicorn("config.wsgi:application", dict(os.environ)) as port, httpx.Client(
            base_url=f"http://127.0.0.1:{port}", cookies=_session_cookie(world["admin"]), timeout=60
        ) as http:
            started = time.monotonic()
            response = _bulk(http, world, issue, ids)
            answered = time.monotonic() - started
            assert response.status_code == 201, response.text[:1000]
            body = response.json()
            page = http.get(f"/issues/{issue['key']}/?view=table")
            shown = f'data-testid="link-count">{conversations}<' in page.text
            visible = time.monotonic() - started
            floor = (conversations + 2) / jira_rate
            deadline = time.monotonic() + floor * 3 + 60
            while not _jira_written(jira, issue["key"], conversations) and time.monotonic() < deadline:
                time.sleep(0.2)
            jira_seconds = time.monotonic() - started
            after_linking = jira_seconds - answered  # Jira writes begin once the links are committed
            written = _jira_written(jira, issue["key"], conversations)
            rate = jira.get("rate")
    figures = {
        "conversations": conversations,
        "linked": body["linked"],
        "api_seconds": round(answered, 2),
        "visible_seconds": round(visible, 2),
        "jira_seconds": round(jira_seconds, 1),
        "jira_seconds_after_linking": round(after_linking, 1),
        "jira_floor_seconds": round(floor, 1),
        "jira_rate_per_second": jira_rate,
        "jira_throttled": rate["throttled"],
        "jira_max_calls_per_second": rate["max_calls_per_second"],
    }
    figures["targets"] = {
        "visible_seconds": {"value": figures["visible_seconds"], "target": 5, "op": "<="},
        "jira_seconds_after_linking": {
            "value": figures["jira_seconds_after_linking"], "target": round(1.2 * floor, 1), "op": "<="
        },
    }
    failed = []
    if body["linked"] != conversations or not shown:
        failed.append(f"linked {body['linked']} of {conversations}; view shows them all: {shown}")
    if not written:
        failed.append("the Jira side was not fully written")
    if failed:
        figures["failed"] = failed
    return figures


def link_under_load(links: int, samples: int, jira_rate: int) -> dict:
    import httpx

    from deliveries.models import Delivery  # Django is set up in the child

    payload = json.loads((_contracts() / "jira-webhooks" / TRANSITION_SAMPLE).read_text())
    with (
        _simulators(jira_rate=jira_rate, intercom_latency=0.2) as (jira_url, jira, intercom_url, intercom),
        # As the Procfile runs them: the main worker, and housekeeping with its 4 threads.
        _workers(("webhooks,deliveries,default", 16), ("housekeeping", 4)),
    ):
        world = _world(jira_url, jira, intercom_url, intercom)
        from linking.models import ConversationLink  # Django is set up in the child

        # The issue whose transitions are noted: one linked conversation, as in the end-to-end benchmark.
        noted = payload["issue"]
        noted["key"] = "SUP-9999"
        noted["fields"]["project"].update({"id": world["project"].project_id, "key": "SUP"})
        (note_target,) = intercom.post("conversations/bulk", {"count": 1})["ids"]
        ConversationLink.objects.create(site=world["site"], issue_id=noted["id"], issue_key=noted["key"],
                                        project_key="SUP", workspace=world["workspace"],
                                        conversation_id=note_target, source="api")
        bulk_issue = _issue(jira, "Linked by the thousand")
        ids = intercom.post("conversations/bulk", {"count": links})["ids"]
        with gunicorn("config.wsgi:application", dict(os.environ)) as port, httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=60
        ) as http:
            # One transition before the load, not counted: a worker's first task pays for its cold start.
            payload["changelog"]["id"] = "799999"
            assert _post(world["site"], payload) == 202
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not Delivery.objects.filter(status="sent").exists():
                time.sleep(0.05)
            warm_notes = len(intercom.get("ledger")["entries"])
            load_started = time.monotonic()
            for start in range(0, links, 1000):
                assert _bulk(http, world, bulk_issue, ids[start : start + 1000]).status_code == 201
            starts = []
            for n in range(samples):
                payload["changelog"]["id"] = str(800000 + n)  # a new change each time, not a redelivery
                sent_before = Delivery.objects.filter(status="sent").count()
                starts.append(time.time())
                assert _post(world["site"], payload) == 202
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and Delivery.objects.filter(status="sent").count() == sent_before:
                    time.sleep(0.02)
                time.sleep(0.5)
            sampled_for = time.monotonic() - load_started
            # The load must have lasted the whole sampling; how long Jira's side takes is bulk_link's figure.
            still_writing = not _jira_written(jira, bulk_issue["key"], links)
        entries = intercom.get("ledger")["entries"][warm_notes:]
        notes = sorted(e["at"] for e in entries if e["kind"] == "note")
    latencies = [(at - started) * 1000 for at, started in zip(notes, starts, strict=False)]
    figures = {
        "links": links,
        "samples": len(latencies),
        "latencies_ms": [round(v) for v in latencies],
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
        "sampled_while_jira_was_written": still_writing,
        "sampling_seconds": round(sampled_for, 1),
        "simulator_latency_ms": 200,
    }
    figures["targets"] = {"p99_ms": {"value": figures["p99_ms"], "target": 1500, "op": "<="}}
    failed = []
    if len(latencies) < samples:
        failed.append(f"{samples - len(latencies)} notes never arrived")
    if not still_writing:
        failed.append("the Jira writes ended before the sampling did: the load was not there throughout")
    if failed:
        figures["failed"] = failed
    return figures


def _contracts() -> Path:
    from django.conf import settings

    return Path(settings.CONTRACTS_DIR)


def _child(mode: str, options: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import redis

    redis.Redis.from_url(BENCH_REDIS).flushdb()
    result = {"issue_view": issue_view, "bulk_link": bulk_link, "link_under_load": link_under_load}[mode](**options)
    print(json.dumps(result))


if __name__ == "__main__":
    _child(sys.argv[1], json.loads(sys.argv[2]))
