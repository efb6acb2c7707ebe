"""Intake benchmark: the real Jira webhook endpoint against the floor and a bare Django view, interleaved.

Four servers run side by side under gunicorn with the same settings (2 workers, as the Procfile runs the web
process), each on a free loopback port:
- ours: the real endpoint, storing into a fresh PostgreSQL database (migrated here, dropped after); no
  worker runs, so its notifications go unheard;
- floor: Django with one view that only INSERTs the raw body (one index, kept connection, no parsing or
  checks): the least any endpoint that stores before it answers can cost on this machine;
- notify_floor: the floor with the pg_notify that DESIGN.md puts in the intake statement (INSERT … RETURNING,
  notified in the same statement, as ours): what that design costs by itself. Reported beside the floor, not
  judged: the target is the issue's, against the plain INSERT;
- bare: Django with one view that answers 200 and touches nothing.
They are measured interleaved: each round gives every server a short slice at 100 req/s, then one-second
slices as fast as 8 clients can go, taking turns, in an order that rotates from round to round, so background
load on a shared machine (autovacuum, a checkpoint, another process) falls on all of them alike (run one after
the other, the floor alone drew anything from 114 to 1,337 req/s; with one five-second slice each, the ratio
of a round still moved between 0.69 and 0.85 with the server that went first). Each round reports ours /
floor; the rounds give the median and the spread. The load is a real Jira sample, signed, each request with
its own X-Atlassian-Webhook-Identifier. Every 2xx of ours must have left exactly one row (checked after the
last round), and no 5xx.
"""

import hashlib
import hmac
import itertools
import os
import platform
import secrets
import signal
import uuid
from contextlib import ExitStack
from pathlib import Path

import psycopg
import redis

from bench import load
from bench.child import migrated_database
from bench.cpu import tree_cpu_seconds
from bench.rounds import sized
from bench.servers import gunicorn, gunicorn_label, pid_of
from sandbox.processes import manage

SAMPLE = "jira-webhooks/mattermost-plugin-jira/webhook-issue-updated-started-working.json"
RATE, RATE_SECONDS = 100, sized(6, 3)  # per slice; a round has one slice per server of each kind
MAX_SECONDS, MAX_CONCURRENCY, MAX_SLICES = sized(5, 3), 8, sized(5, 3)  # per round: the servers take turns
SERVERS = ("ours", "floor", "notify_floor", "bare")
ROUNDS_DEFAULT = 3
TARGET_RATIO, TARGET_P99_MS, TARGET_P99_MAX_MS = 0.75, 50.0, 100.0
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


def _floor_table(database_url: str) -> None:
    from bench.floor_settings import TABLE  # a settings module of its own server

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, body text NOT NULL)")


def _timeout(signum, frame):
    raise TimeoutError("the intake benchmark ran past its time limit")


def _time_limit(rounds: int) -> int:
    return 120 + rounds * 2 * len(SERVERS) * (RATE_SECONDS + MAX_SECONDS)  # twice the slices: a busy machine is slow


def run(rounds: int = ROUNDS_DEFAULT) -> list[dict]:
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(_time_limit(rounds))
    try:
        return _run(rounds)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


run.own_rounds = True  # one set-up (database, three servers) for all rounds: see bench/rounds.py


def _run(rounds: int) -> list[dict]:
    host = machine()
    body = (_contracts_dir() / SAMPLE).read_bytes()
    public_id, secret = str(uuid.uuid4()), secrets.token_urlsafe(32)
    path = f"/webhooks/jira/{public_id}"
    broker = redis.Redis.from_url(_redis_url())
    broker.flushdb()
    try:
        with migrated_database(DATABASE) as database_url, ExitStack() as servers:
            env = _server_env(database_url)
            _site_create(env, public_id, secret)
            _floor_table(database_url)
            ports = {
                "ours": servers.enter_context(gunicorn("config.wsgi:application", env)),
                "floor": servers.enter_context(
                    gunicorn("bench.floor_wsgi:application", {**env, "FLOOR_DATABASE_URL": database_url})),
                "notify_floor": servers.enter_context(
                    gunicorn("bench.floor_wsgi:application",
                             {**env, "FLOOR_DATABASE_URL": database_url, "FLOOR_NOTIFY": "1"})),
                "bare": servers.enter_context(gunicorn("bench.bare_wsgi:application", env)),
            }
            makers = {name: request_factory(port, path, body, secret) for name, port in ports.items()}
            warm = {name: load.warm_up("127.0.0.1", ports[name], makers[name]) for name in SERVERS}
            answered = warm["ours"].ok
            results = []
            for i in range(rounds):
                turn = i % len(SERVERS)
                order = list(SERVERS[turn:] + SERVERS[:turn])  # rotate, so no server always goes first
                steady = {}
                flat_out = {name: load.LoadResult() for name in order}
                cpu = dict.fromkeys([*order, *(f"{name}_db" for name in order)], 0.0)
                for name in order:
                    steady[name] = load.fixed_rate("127.0.0.1", ports[name], makers[name], rate=RATE,
                                                   seconds=RATE_SECONDS)
                for _, name in itertools.product(range(MAX_SLICES), order):
                    before, db_before = tree_cpu_seconds(pid_of(ports[name])), _backends_cpu(database_url)
                    flat_out[name].add(load.maximum("127.0.0.1", ports[name], makers[name],
                                                    concurrency=MAX_CONCURRENCY, seconds=MAX_SECONDS / MAX_SLICES))
                    cpu[name] += tree_cpu_seconds(pid_of(ports[name])) - before
                    db_after = _backends_cpu(database_url)
                    cpu[f"{name}_db"] += sum(db_after[pid] - db_before.get(pid, 0.0) for pid in db_after)
                answered += steady["ours"].ok + flat_out["ours"].ok
                results.append(_figures(steady, flat_out, cpu, order, host if i == 0 else None))
            with psycopg.connect(database_url) as conn:
                rows = conn.execute("SELECT count(*) FROM connector_webhookevent").fetchone()[0]
    finally:
        broker.flushdb()
    if rows != answered:
        results[-1].setdefault("failed", []).append(f"every 2xx stored exactly one row: {rows} rows for {answered} 2xx")
    results[-1]["rows_stored"], results[-1]["ours_2xx"] = rows, answered
    return results


def _backends_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the benchmark's database (only the server under load is
    busy during its slice, so the difference is its share of the database's work)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    return {pid: tree_cpu_seconds(pid) for pid in pids}


def _ratio(a: load.LoadResult, b: load.LoadResult) -> float:
    return round(a.rps / b.rps, 3) if b.rps else 0.0


def _figures(steady: dict, flat_out: dict, cpu: dict, order: list[str], host: dict | None) -> dict:
    ours, floor, notify_floor, bare = (flat_out[name] for name in ("ours", "floor", "notify_floor", "bare"))
    figures = {
        "ours_rps": round(ours.rps, 1),
        "floor_rps": round(floor.rps, 1),
        "bare_rps": round(bare.rps, 1),
        # What a durable store costs by itself (floor / bare), and our endpoint against that floor.
        "ratio_to_floor": _ratio(ours, floor),
        "ratio_to_bare": _ratio(ours, bare),
        "floor_ratio_to_bare": _ratio(floor, bare),
        "notify_floor_rps": round(notify_floor.rps, 1),
        "ratio_to_notify_floor": _ratio(ours, notify_floor),
        f"p50_ms_at_{RATE}rps": steady["ours"].percentile_ms(50),
        f"p99_ms_at_{RATE}rps": steady["ours"].percentile_ms(99),
        f"floor_p99_ms_at_{RATE}rps": steady["floor"].percentile_ms(99),
        f"bare_p99_ms_at_{RATE}rps": steady["bare"].percentile_ms(99),
        "p99_ms_at_max": ours.percentile_ms(99),
        "floor_p99_ms_at_max": floor.percentile_ms(99),
        "bare_p99_ms_at_max": bare.percentile_ms(99),
        # The servers' own CPU per answered request at maximum load (gunicorn and its workers): on a busy
        # machine the rates move with everyone else's load, these hardly do.
        **{f"{name}_cpu_ms_per_request": round(cpu[name] * 1000 / flat_out[name].ok, 3) if flat_out[name].ok
           else None for name in SERVERS},
        **{f"{name}_db_cpu_ms_per_request": round(cpu[f"{name}_db"] * 1000 / flat_out[name].ok, 3)
           if flat_out[name].ok else None for name in ("ours", "floor", "notify_floor")},
        "ours_statuses": {str(k): v for k, v in sorted((steady["ours"].statuses + ours.statuses).items())},
        "order": order,
    }
    if host:
        figures["machine"] = host
        figures["load"] = {"rate": RATE, "rate_seconds": RATE_SECONDS, "max_seconds": MAX_SECONDS,
                           "max_concurrency": MAX_CONCURRENCY, "max_slices": MAX_SLICES, "gunicorn": gunicorn_label(),
                           "client": "asyncio, same host"}
    figures["targets"] = {
        "ratio_to_floor": {"value": figures["ratio_to_floor"], "target": TARGET_RATIO, "op": ">="},
        f"p99_ms_at_{RATE}rps": {"value": figures[f"p99_ms_at_{RATE}rps"], "target": TARGET_P99_MS, "op": "<="},
        "p99_ms_at_max": {"value": figures["p99_ms_at_max"], "target": TARGET_P99_MAX_MS, "op": "<="},
    }
    ours_sent = steady["ours"].sent + ours.sent
    failed = []
    if steady["ours"].ok + ours.ok != ours_sent:
        failed.append(f"5xx or unanswered requests: {figures['ours_statuses']}")
    if steady["ours"].sent != int(RATE * RATE_SECONDS):
        failed.append(f"the offered {RATE} req/s was not kept: {steady['ours'].sent} sent")
    if failed:
        figures["failed"] = failed
    return figures
