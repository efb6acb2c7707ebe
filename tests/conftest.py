"""Shared fixtures: factories, logged-in clients, a real Celery worker process, the simulators."""

import os
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from sandbox.processes import celery_worker_command
from tests import factories

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items):
    """Tests with a real Celery worker run last: once started, the session's worker listens for every stored
    webhook, so it would process what later transactional tests commit, and their flush could deadlock with it."""
    items.sort(key=lambda item: item.get_closest_marker("worker") is not None)  # stable: otherwise in file order


@pytest.fixture
def admin_user(db):
    return factories.UserFactory(role="Admin")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def enqueued(monkeypatch):
    """The workspaces whose delivery pump would be started (the pump itself is not run)."""
    calls = []
    monkeypatch.setattr("deliveries.services.pump_enqueue", calls.append)
    return calls


@pytest.fixture(scope="session")
def redis_client():
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # a missing service fails loudly, never skips
        pytest.fail(f"Redis is not reachable at {settings.REDIS_URL}: {exc}. Run `make test`, which starts it.")
    return client


def worker_env(db_name: str, **extra) -> dict:
    """The environment a worker process needs to share the test database and broker with the test run."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_ENV="test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db_name}",
        REDIS_URL=settings.REDIS_URL,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),  # so it can read the secrets we store
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class WorkerProcess:
    """A real `celery worker` subprocess, as production runs it (threads pool, all queues)."""

    def __init__(self, env: dict, concurrency: int = 8, queues: str = "webhooks,deliveries,default,housekeeping"):
        self.env, self.concurrency, self.queues = env, concurrency, queues
        self.proc: subprocess.Popen | None = None
        self.log = Path(env.get("VAR_DIR", "/tmp")) / f"worker-{os.getpid()}-{time.time_ns()}.log"

    def start(self, timeout: float = 30) -> "WorkerProcess":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.log.open("w")
        self.proc = subprocess.Popen(
            celery_worker_command(name="test", concurrency=self.concurrency, queues=self.queues),
            cwd=REPO,
            env=self.env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log.read_text():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the Celery worker did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self, sig: int = 9) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._fh.close()

    def output(self) -> str:
        return self.log.read_text()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, redis_client, tmp_path_factory):
    """One real worker for the session, connected to the test database and the test Redis."""
    redis_client.flushdb()  # messages left by an earlier run name rows that no longer exist
    worker = WorkerProcess(
        worker_env(settings.DATABASES["default"]["NAME"], VAR_DIR=str(tmp_path_factory.mktemp("var")))
    )
    worker.start()
    yield worker
    worker.stop()


def wait_for(predicate, *, timeout: float = 20, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def intercom():
    """The Intercom simulator, on loopback, for one test."""
    from sandbox.intercom import IntercomSimulator

    with IntercomSimulator() as sim:
        yield sim


@pytest.fixture
def jira():
    """The Jira Cloud simulator, on loopback, for one test."""
    from sandbox.jira import JiraSimulator

    with JiraSimulator(deployment="cloud") as sim:
        yield sim


@pytest.fixture
def jira_dc():
    from sandbox.jira import JiraSimulator

    with JiraSimulator(deployment="datacenter") as sim:
        yield sim


@pytest.fixture
def intercom_sim(intercom):
    return intercom


@pytest.fixture
def jira_sim(jira):
    return jira


def workspace_for(sim, **fields):
    """An IntercomWorkspace row that talks to the given Intercom simulator as its app admin."""
    from tests.factories import IntercomWorkspaceFactory

    return IntercomWorkspaceFactory(
        api_base_url=sim.url,
        access_token=sim.default_token,
        app_admin_id=str(sim.app_admin["id"]),
        workspace_id=sim.app["id_code"],
        **fields,
    )


@pytest.fixture(scope="session", autouse=True)
def _disconnect_stragglers(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end sessions that threads or child processes left open."""
    yield
    from django.db import OperationalError, connection

    if connection.vendor != "postgresql":
        return
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    except OperationalError:  # a run without database tests made no test database: nobody to disconnect
        pass
