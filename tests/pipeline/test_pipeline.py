"""The real pipeline: web request → PostgreSQL → Redis → a real Celery worker process → PostgreSQL."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from config.celery import app as celery_app
from connector.models import WebhookEvent
from pipeline.tasks import webhook_event_sweep
from tests.conftest import REPO, wait_for
from tests.factories import JiraSiteFactory, WebhookEventFactory
from tests.webhooks import jira_sample, post_jira

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
TRANSITION = "webhook-issue-updated-started-working.json"


def _status(pk):
    return WebhookEvent.objects.filter(pk=pk).values_list("status", flat=True).first()


def test_a_webhook_is_processed_by_the_worker(client, celery_worker):
    site = JiraSiteFactory()
    response = post_jira(client, site, jira_sample(TRANSITION))
    assert response.status_code == 202
    pk = response.json()["id"]
    wait_for(lambda: _status(pk) == "processed", message="the worker to process the event")


def _database_sessions() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_the_worker_keeps_its_database_connections_from_one_task_to_the_next(client, celery_worker):
    """Each event is a task; a task thread keeps its PostgreSQL connection (DB_CONN_MAX_AGE) rather than opening
    a new one per task as Celery's Django fix-up would: a new backend, cold, on every webhook's way to a note."""
    site = JiraSiteFactory()
    before = _database_sessions()
    for _ in range(30):
        pk = post_jira(client, site, jira_sample(TRANSITION)).json()["id"]
        wait_for(lambda pk=pk: _status(pk) == "processed", message="the worker to process the event")
    time.sleep(0.5)  # a backend's statistics reach pg_stat_database when it ends
    # The worker's task threads, its listener and this test's own connections: far fewer than 30.
    assert _database_sessions() - before < 15


@contextmanager
def broker_unreachable():
    """Point this process's publisher at a port where no Redis listens, as if Redis were stopped."""
    old = celery_app.conf.broker_url

    def use(url):  # kombu keeps a pool per URL; dropping our references makes the next publish pick one
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        celery_app.conf.broker_url = url

    use("redis://127.0.0.1:1/9")
    try:
        yield
    finally:
        use(old)


def test_the_web_process_never_needs_the_broker(client, celery_worker, monkeypatch):
    """Intake answers from PostgreSQL alone: with no broker reachable from here the delivery is still accepted
    at once, and the worker's listener hands it on. (Redis down for everyone while a webhook arrives is the
    `redis_down_at_intake` fault scenario.)"""
    published = []
    monkeypatch.setattr("pipeline.intake.hints.put", published.append)
    monkeypatch.setattr("pipeline.intake.events_enqueue", published.append)
    site = JiraSiteFactory()
    with broker_unreachable():
        started = time.monotonic()
        response = post_jira(client, site, jira_sample(TRANSITION))
        elapsed = time.monotonic() - started
    assert response.status_code == 202
    assert elapsed < 1
    assert published == []  # not even in the background
    wait_for(lambda: _status(response.json()["id"]) == "processed", message="the worker to process the event")


def test_what_the_sweeper_finds_is_processed(celery_worker):
    site = JiraSiteFactory()
    missed = WebhookEventFactory(  # stored without a notification: as if no listener had run
        site=site, delivery_id="missed", event_type="jira:issue_updated", payload=jira_sample(TRANSITION)
    )
    WebhookEvent.objects.filter(pk=missed.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    with override_settings(WEBHOOK_SWEEP_AFTER_SECONDS=60):
        assert webhook_event_sweep() == 1  # what beat runs every 30 s
    wait_for(lambda: _status(missed.pk) == "processed", message="the swept event to be processed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_with_the_database_down_jira_gets_503_and_retries(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/connector",
        "VAR_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = json.dumps(jira_sample(TRANSITION)).encode()
        url = f"http://127.0.0.1:{port}/webhooks/jira/00000000-0000-0000-0000-000000000001"

        def attempt():
            try:
                urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10)
            except urllib.error.HTTPError as exc:
                return exc
            except OSError:
                return None
            return None

        error = wait_for(attempt, timeout=30, interval=0.2, message="gunicorn to answer")
        assert error.code == 503
        assert error.headers["Retry-After"]
        assert "retry" in json.loads(error.read())["error"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
