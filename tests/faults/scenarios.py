"""Fault scenarios: a fan-out while workers die, Redis or PostgreSQL go away, or Intercom misbehaves.

Each scenario runs in a child process (`python -m tests.faults.scenarios <scenario>`) with a real worker and beat, the
Intercom simulator as its own process, and — where the scenario stops them — private Redis and PostgreSQL
servers in a temporary folder, so the machine's shared services are never disturbed. The result says how
many notes the simulator's ledger holds per conversation: every scenario must end with each exactly once.

A name's prefix picks the setup (tests/faults/ha.py): `sentinel_*` a Redis primary, replica and three sentinels,
`rabbitmq_*` RabbitMQ as the broker, `pgbouncer_*` PgBouncer in transaction mode with the listener on the direct
URL; its suffix the fault. The plain "rabbitmq" and "pgbouncer" run the setup with no fault (the suite's).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from sandbox.processes import (
    REPO,
    celery_beat_command,
    celery_worker_command,
    free_port,
    fresh_database,
    intercom_simulator,
    manage,
    wait_for_line,
)
from tests.faults import ha

PG_BIN = (
    Path("/usr/lib/postgresql")
    / (os.listdir("/usr/lib/postgresql")[0] if Path("/usr/lib/postgresql").is_dir() else "15")
    / "bin"
)
CONVERSATIONS = int(os.environ.get("FAULT_CONVERSATIONS", "400"))
LIMIT = int(os.environ.get("FAULT_LIMIT", "400"))  # per 10 s: a fan-out of ~10 s, long enough to hurt
SCENARIOS = (
    "kill_worker",
    "redis_down",
    "redis_down_at_intake",
    "postgres_restart",
    "errors_then_429",
    "sentinel_failover",
    "rabbitmq_kill_worker",
    "pgbouncer_kill_worker",
)
LATENCY = 0.2  # seconds the simulated Intercom takes per call
SAMPLE = "mattermost-plugin-jira/webhook-issue-updated-started-working.json"


def run(scenario: str, **sizes: int) -> dict:
    """Run one scenario in a child process and return its figures; `conversations=` and `limit=` (per 10 s)
    shrink it (the suite runs small fan-outs of the plain "rabbitmq" and "pgbouncer" setups)."""
    with tempfile.TemporaryDirectory() as var:
        env = {
            **os.environ,
            **{f"FAULT_{key.upper()}": str(value) for key, value in sizes.items()},
            "DJANGO_ENV": "test",
            "VAR_DIR": var,
            "PYTHONUNBUFFERED": "1",
            "DELIVERY_SWEEP_SECONDS": "1",
            "DELIVERY_STALE_SENDING_SECONDS": "8",
            "WEBHOOK_SWEEP_AFTER_SECONDS": "5",
            "VENDOR_TIMEOUT_SECONDS": "3",
        }
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tests.faults.scenarios", scenario],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            ha.stop_leftovers(Path(var))  # servers of a child that timed out or crashed
        if done.returncode:
            raise RuntimeError(f"fault scenario {scenario} failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


# --- private servers --------------------------------------------------------------------------------------


class PrivateRedis:
    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--pidfile",
                str(self.folder / "redis.pid"),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            check=True,
        )
        _wait(lambda: self._ping(), "private Redis to answer")

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, check=False)
        _wait(lambda: not self._ping(), "private Redis to stop")

    def _ping(self) -> bool:
        done = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, check=False)
        return done.stdout.strip() == "PONG"


class PrivatePostgres:
    """A throwaway cluster owned by the postgres user (PostgreSQL refuses to run as root)."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder / "pg", free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/connector"

    def _as_postgres(self, *args: str, check: bool = True) -> None:
        runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*runner, *args], check=check, capture_output=True, text=True)

    def start(self, *, init: bool = False) -> None:
        if init:
            self.folder.parent.chmod(0o755)  # the postgres user must reach its folder inside ours
            self.folder.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(self.folder, "postgres", "postgres")
            self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.folder), "-A", "trust", "-U", "postgres")
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.folder),
            "-w",
            "-l",
            str(self.folder / "log"),
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
            "start",
        )
        if init:
            self._as_postgres(
                str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "connector"
            )

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.folder), "-m", "fast", "-w", "stop", check=False)


def _wait(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


# --- the child ----------------------------------------------------------------------------------------------


class Supervised:
    """Keeps a process running, as the platform does in production (systemd, Heroku, Kubernetes)."""

    def __init__(self, name: str, args: list[str], var: Path, events: list[str]):
        self.name, self.args, self.var, self.events = name, args, var, events
        self.runs = 0
        self.stopping = False
        self.proc = self._spawn()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _spawn(self) -> subprocess.Popen:
        log = (self.var / f"{self.name}-{self.runs}.log").open("w")
        self.runs += 1
        return subprocess.Popen(self.args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)

    def _watch(self) -> None:
        while not self.stopping:
            code = self.proc.poll()
            if code is not None and not self.stopping:
                self.events.append(f"{self.name} exited with {code}; restarted")
                time.sleep(1)
                self.proc = self._spawn()
            time.sleep(0.2)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        self.stopping = True
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _world(sim_url: str, control, conversations: int):
    """A connected site, workspace and project, and `conversations` simulator conversations linked to one issue."""
    from linking.models import ConversationLink
    from tests import factories
    from tests.webhooks import JIRA_SAMPLES

    payload = json.loads((JIRA_SAMPLES / SAMPLE).read_text())
    issue = payload["issue"]
    state = control.get("state")
    site = factories.JiraSiteFactory(
        name="Fault Jira", base_url="https://faults.atlassian.net", app_account_id="connector-app-user"
    )
    workspace = factories.IntercomWorkspaceFactory(
        name="Faults",
        workspace_id=state["app"]["id_code"],
        api_base_url=sim_url,
        access_token=state["token"],
        app_admin_id=str(state["app_admin"]["id"]),
    )
    factories.ProjectConnectionFactory(
        site=site,
        workspace=workspace,
        project_id=issue["fields"]["project"]["id"],
        project_key=issue["fields"]["project"]["key"],
    )
    ids = control.post("conversations/bulk", {"count": conversations})["ids"] if conversations else []
    ConversationLink.objects.bulk_create(
        (
            factories.ConversationLinkFactory.build(
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


def _post(site, payload: dict) -> int:
    """Send the webhook through the real endpoint, signed as Jira signs it; returns the status code."""
    from django.test import Client

    from tests.webhooks import post_jira

    return post_jira(Client(), site, payload).status_code


def _sent():
    from django.db import close_old_connections

    from deliveries.models import Delivery

    close_old_connections()
    try:
        return Delivery.objects.filter(status="sent").count()
    except Exception:
        return None


def _wait_progress(fraction: float, total: int, timeout: float = 120) -> None:
    _wait(lambda: (_sent() or 0) >= fraction * total, f"{fraction:.0%} of the fan-out", timeout)


def scenario(name: str) -> dict:
    var = Path(os.environ["VAR_DIR"])
    redis_server = PrivateRedis(var)
    postgres = PrivatePostgres(var)
    own_postgres = name == "postgres_restart"
    with ExitStack() as stack:
        if name.startswith("sentinel"):  # a primary, a replica and three sentinels instead of one Redis
            redis_server = stack.enter_context(ha.SentinelGroup(var / "sentinel"))
        else:
            redis_server.start()
            stack.callback(redis_server.stop)
        os.environ["REDIS_URL"] = redis_server.url
        # The broker is the private Redis, or a RabbitMQ virtual host of the scenario's own (`rabbitmq_*`, and
        # every scenario under `make test-rabbitmq`); Redis keeps the limiter and the leases either way.
        broker = None
        if name.startswith("rabbitmq") or os.environ.get("CELERY_BROKER_URL", "").startswith("amqp"):
            broker = os.environ["CELERY_BROKER_URL"] = stack.enter_context(ha.rabbitmq_vhost())
        else:
            os.environ.pop("CELERY_BROKER_URL", None)
        if own_postgres:
            postgres.start(init=True)
            stack.callback(postgres.stop)
            database_url = postgres.url  # its own cluster: this scenario restarts it
        else:
            # Named for this run: fault runs of other checkouts on the same server must never drop it.
            database_url = stack.enter_context(fresh_database(f"connector_faults_{os.getpid()}"))
        os.environ["DATABASE_URL"] = database_url
        manage(dict(os.environ), "migrate", "--noinput")
        pooled = None
        if name.startswith("pgbouncer"):
            # Everything through PgBouncer in transaction mode but the listener, which connects straight. The
            # sweeper waits long enough that only the listener can have handed the webhook on.
            pooled = stack.enter_context(ha.pgbouncer(var / "pgbouncer", database_url))
            stack.callback(os.environ.__setitem__, "DATABASE_URL", database_url)  # to drop the database
            os.environ.update(
                DATABASE_URL=pooled,
                LISTENER_DATABASE_URL=database_url,
                DB_TRANSACTION_POOLING="true",
                WEBHOOK_SWEEP_AFTER_SECONDS="600",
            )
        result = _scenario(name, var, redis_server, postgres)
        if pooled:
            result["pgbouncer_transactions"] = ha.pgbouncer_transactions(pooled)
        if broker:
            types = ha.rabbitmq_queue_types(broker)
            result["queue_types"] = {q: t for q, t in types.items() if not q.startswith("celery_delayed_")}
        return result


def _scenario(name: str, var: Path, redis_server: PrivateRedis, postgres: PrivatePostgres) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db.models import Count

    from deliveries.models import Delivery

    events: list[str] = []
    with intercom_simulator(rate_limit=LIMIT, latency=LATENCY, log=var / "intercom.log") as (sim_url, control, _sim):
        site, payload, ids = _world(sim_url, control, CONVERSATIONS)
        beat = Supervised("beat", celery_beat_command(var / "beat-schedule"), var, events)
        worker = Supervised("worker", celery_worker_command(name="fault"), var, events)
        wait_for_line(var / "worker-0.log", "intake.listening")  # the webhook comes once someone listens
        time.sleep(3)
        if name == "errors_then_429":
            control.post("faults", {"error_rate": 0.2, "error_status": 500})
        started = time.time()
        if name == "redis_down_at_intake":
            redis_server.stop()
            events.append("Redis stopped before the webhook")
            accepted = time.monotonic()
            assert _post(site, payload) == 202  # stored; the web process never needed the broker
            events.append(f"webhook answered 202 in {time.monotonic() - accepted:.2f} s with Redis down")
            time.sleep(10)
            redis_server.start()
            events.append(f"Redis back at {_sent()} sent")
        else:
            assert _post(site, payload) == 202
        if name.endswith("kill_worker"):
            for fraction in (0.2, 0.45, 0.7):
                _wait_progress(fraction, CONVERSATIONS)
                events.append(f"worker killed (SIGKILL) at {_sent()} sent")
                worker.kill()
        elif name == "redis_down":
            _wait_progress(0.3, CONVERSATIONS)
            redis_server.stop()
            events.append(f"Redis stopped at {_sent()} sent")
            time.sleep(30)
            redis_server.start()
            events.append(f"Redis back at {_sent()} sent")
        elif name == "sentinel_failover":
            _wait_progress(0.3, CONVERSATIONS)
            events.append(f"Redis primary killed (SIGKILL) at {_sent()} sent")
            failed_over = time.monotonic()
            redis_server.kill_primary()
            took = time.monotonic() - failed_over
            events.append(f"sentinels promoted the replica in {took:.1f} s, at {_sent()} sent")
        elif name == "postgres_restart":
            _wait_progress(0.3, CONVERSATIONS)
            postgres.stop()
            events.append("PostgreSQL stopped")
            time.sleep(5)
            postgres.start()
            events.append(f"PostgreSQL back at {_sent()} sent")
        elif name == "errors_then_429":
            _wait_progress(0.4, CONVERSATIONS)
            control.post("faults", {"error_rate": 0.0})
            control.post("throttle", {"seconds": 30})
            events.append(f"429s for 30 s from {_sent()} sent")
        _wait(lambda: (_sent() or 0) >= CONVERSATIONS, "every delivery to be sent", timeout=300)
        seconds = time.time() - started
        time.sleep(2)  # anything still in flight would show up in the ledger now
        ledger = control.get("ledger")
        statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
        worker.stop()
        beat.stop()
    counts = ledger["counts"]
    return {
        "scenario": name,
        "conversations": CONVERSATIONS,
        "seconds": round(seconds, 1),
        "events": events,
        "lost": len(ids) - len(counts),
        "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "max_calls_per_window": ledger["max_calls_per_window"],
        "limit_per_10s": LIMIT,
        "statuses": statuses,
    }


if __name__ == "__main__":
    print(json.dumps(scenario(sys.argv[1])))
