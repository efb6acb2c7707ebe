"""Intake benchmark (issue 4, item 6): the real Jira webhook endpoint against a bare Django view.

Three servers run in turn under gunicorn with the same settings (2 workers, as the Procfile runs the web
process) on a free loopback port:
- ours: the real endpoint, storing into a fresh PostgreSQL database (`connector_bench`, migrated here,
  dropped after); no worker runs, so its notifications go unheard;
- floor: Django with one view that only INSERTs the raw body (one index, kept connection, no parsing or
  checks): the least any endpoint that stores before it answers can cost on this machine;
- bare: Django with one view that answers 200 and touches nothing.
The load is a real Jira sample, signed, each request with its own X-Atlassian-Webhook-Identifier: 100 req/s
for 20 s (p50/p99; ours and bare) and then as fast as possible for 15 s (throughput). Every 2xx of ours must
have left exactly one row, and no 5xx.
"""

import hashlib
import hmac
import itertools
import os
import platform
import secrets
import signal
import uuid
from pathlib import Path

import psycopg
import redis

from bench import load
from bench.rounds import sized
from bench.servers import gunicorn, gunicorn_label
from sandbox.processes import fresh_database, manage

SAMPLE = "jira-webhooks/mattermost-plugin-jira/webhook-issue-updated-started-working.json"
RATE, RATE_SECONDS = 100, sized(20, 5)
MAX_SECONDS, MAX_CONCURRENCY = sized(15, 5), 8
TARGET_RATIO, TARGET_P99_MS, TARGET_P99_MAX_MS = 0.75, 50.0, 100.0
TIME_LIMIT = 240  # seconds; the whole run, set-up and clean-up included, stays under 4 minutes
DATABASE = os.environ.get("BENCH_DATABASE", "connector_bench")


def _contracts_dir() -> Path:
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "contracts"
    return Path(os.environ.get("CONTRACTS_DIR") or default)


def machine() -> dict:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        # The figures are only comparable on a quiet machine; a high load here means other work shared the cores.
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def _redis_url() -> str:
    # Not the tests' database (9): flushing our queued messages must not touch theirs.
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def _server_env(database_url: str) -> dict:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_ENV="test",
        DJANGO_DEBUG="0",
        DATABASE_URL=database_url,
        REDIS_URL=_redis_url(),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PYTHONUNBUFFERED="1",
    )
    return env


def _site_create(env: dict, public_id: str, secret: str) -> None:
    manage(env, "migrate", "--noinput", "-v0")
    manage(
        env, "shell", "-v0", "-c",
        "from connector.models import JiraSite; "
        f"JiraSite.objects.create(name='Bench', base_url='https://bench.example.net', public_id='{public_id}', "
        f"webhook_secret='{secret}', app_account_id='bench-app-user')",
    )


def request_factory(port: int, path: str, body: bytes, secret: str):
    """Signed Jira deliveries, each with a fresh X-Atlassian-Webhook-Identifier, as prebuilt request bytes."""
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Hub-Signature: {signature}\r\nUser-Agent: Atlassian Webhook HTTP Client\r\n"
        "Connection: close\r\nX-Atlassian-Webhook-Identifier: "
    ).encode()
    run, counter = uuid.uuid4().hex[:12], itertools.count()
    return lambda: head + f"bench-{run}-{next(counter)}".encode() + b"\r\n\r\n" + body


def _measure(port: int, path: str, body: bytes, secret: str, *, steady: bool = True):
    make = request_factory(port, path, body, secret)
    warm = load.warm_up("127.0.0.1", port, make)
    at_rate = load.fixed_rate("127.0.0.1", port, make, rate=RATE, seconds=RATE_SECONDS) if steady else None
    flat_out = load.maximum("127.0.0.1", port, make, concurrency=MAX_CONCURRENCY, seconds=MAX_SECONDS)
    return at_rate, flat_out, warm.ok


def _floor_table(database_url: str) -> None:
    from bench.floor_settings import TABLE  # a settings module of its own server

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, body text NOT NULL)")


def _timeout(signum, frame):
    raise TimeoutError(f"the intake benchmark ran past its {TIME_LIMIT} s limit")


def run() -> dict:
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(TIME_LIMIT)
    try:
        return _run()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _run() -> dict:
    host = machine()
    if host["load_avg_1m_at_start"] > 0.5 * (host["cores"] or 1):
        print(f"WARNING: load average {host['load_avg_1m_at_start']} at start; other work will skew the figures.")
    body = (_contracts_dir() / SAMPLE).read_bytes()
    public_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
    path = f"/webhooks/jira/{public_id}"
    broker = redis.Redis.from_url(_redis_url())
    broker.flushdb()
    try:
        with fresh_database(DATABASE) as database_url:
            env = _server_env(database_url)
            _site_create(env, public_id, secret)
            with gunicorn("config.wsgi:application", env) as port:
                print(f"ours: gunicorn on 127.0.0.1:{port}", flush=True)
                ours_steady, ours_max, ours_warm = _measure(port, path, body, secret)
            with psycopg.connect(database_url) as conn:
                rows = conn.execute("SELECT count(*) FROM connector_webhookevent").fetchone()[0]
            queued = broker.llen("default")
            _floor_table(database_url)
            with gunicorn("bench.floor_wsgi:application", {**env, "FLOOR_DATABASE_URL": database_url}) as port:
                print(f"floor: gunicorn on 127.0.0.1:{port}", flush=True)
                _, floor_max, _ = _measure(port, path, body, secret, steady=False)
            with gunicorn("bench.bare_wsgi:application", env) as port:
                print(f"bare: gunicorn on 127.0.0.1:{port}", flush=True)
                bare_steady, bare_max, _ = _measure(port, path, body, secret)
    finally:
        broker.flushdb()
    return _figures(ours_steady, ours_max, floor_max, bare_steady, bare_max, rows, ours_warm, queued, host)


def _figures(ours_steady, ours_max, floor_max, bare_steady, bare_max, rows, ours_warm, queued, host) -> dict:
    answered_2xx = ours_warm + ours_steady.ok + ours_max.ok
    ratio = round(ours_max.rps / bare_max.rps, 3) if bare_max.rps else 0.0
    p99 = ours_steady.percentile_ms(99)
    figures = {
        "ours_rps": round(ours_max.rps, 1),
        "bare_rps": round(bare_max.rps, 1),
        "ratio": ratio,
        # What a durable store costs by itself: the floor against bare, and ours against the floor.
        "floor_rps": round(floor_max.rps, 1),
        "floor_ratio": round(floor_max.rps / bare_max.rps, 3) if bare_max.rps else 0.0,
        "ratio_to_floor": round(ours_max.rps / floor_max.rps, 3) if floor_max.rps else 0.0,
        "p50_ms_at_100rps": ours_steady.percentile_ms(50),
        "p99_ms_at_100rps": p99,
        "bare_p50_ms_at_100rps": bare_steady.percentile_ms(50),
        "bare_p99_ms_at_100rps": bare_steady.percentile_ms(99),
        "ours_p99_ms_at_max": ours_max.percentile_ms(99),
        "bare_p99_ms_at_max": bare_max.percentile_ms(99),
        "ours_statuses": {str(k): v for k, v in sorted((ours_steady.statuses + ours_max.statuses).items())},
        "bare_statuses": {str(k): v for k, v in sorted((bare_steady.statuses + bare_max.statuses).items())},
        "floor_statuses": {str(k): v for k, v in sorted(floor_max.statuses.items())},
        "rows_stored": rows,
        "ours_2xx": answered_2xx,
        "messages_queued": queued,
        "load": {"rate": RATE, "rate_seconds": RATE_SECONDS, "max_seconds": MAX_SECONDS,
                 "max_concurrency": MAX_CONCURRENCY, "gunicorn": gunicorn_label(), "client": "asyncio, same host"},
        "machine": host,
    }
    figures["targets"] = {
        "ratio_to_floor": {"value": figures["ratio_to_floor"], "target": TARGET_RATIO, "op": ">="},
        f"p99_ms_at_{RATE}rps": {"value": p99, "target": TARGET_P99_MS, "op": "<="},
        "p99_ms_at_max": {"value": figures["ours_p99_ms_at_max"], "target": TARGET_P99_MAX_MS, "op": "<="},
    }
    checks = [
        ("every 2xx stored exactly one row", rows == answered_2xx, f"{rows} rows for {answered_2xx} 2xx"),
        ("no 5xx and no unanswered request", ours_steady.ok + ours_max.ok == ours_steady.sent + ours_max.sent,
         f"{dict(ours_steady.statuses + ours_max.statuses)}"),
        (f"the offered {RATE} req/s was kept", ours_steady.sent == RATE * RATE_SECONDS, f"{ours_steady.sent} sent"),
    ]
    figures["failed"] = [f"{label} ({detail})" for label, passed, detail in checks if not passed]
    return figures
