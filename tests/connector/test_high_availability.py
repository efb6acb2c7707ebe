"""High availability settings and clients: one Sentinel URL form understood by every Redis client of the service
(limiter and leases, caches, health, the Celery broker) and clients that follow the primary when it fails over;
RabbitMQ's quorum queues; PgBouncer's transaction mode."""

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from connector.cache import RedisCache
from connector.redis_client import celery_broker, parse_sentinel_url, redis_connect
from deliveries.ratelimit import WorkspaceRateLimiter
from tests.conftest import REPO
from tests.faults.ha import SentinelGroup


def test_a_sentinel_url_names_the_sentinels_the_database_and_the_primary():
    parsed = parse_sentinel_url("sentinel://:s%40cret@10.0.0.1:26379,[::1]:26380/3?service_name=mymaster")
    assert parsed.hosts == (("10.0.0.1", 26379), ("::1", 26380))
    assert (parsed.db, parsed.service_name, parsed.password) == (3, "mymaster", "s@cret")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sentinel://h1:26379/0", "service_name"),
        ("sentinel:///0?service_name=m", "at least one sentinel"),
        ("sentinel://h1/0?service_name=m", "HOST:PORT"),
        ("sentinel://h1:26379/zero?service_name=m", "database must be a number"),
    ],
)
def test_a_wrong_sentinel_url_says_what_is_wrong(url, problem):
    with pytest.raises(ImproperlyConfigured, match=problem):
        parse_sentinel_url(url)


def test_celery_gets_kombus_form_of_the_same_url():
    broker, options = celery_broker("sentinel://:pw@h1:26379,[::1]:26380/2?service_name=m&sentinel_password=sp")
    assert broker == "sentinel://:pw@h1:26379/2;sentinel://:pw@[::1]:26380/2"
    assert options == {"master_name": "m", "sentinel_kwargs": {"password": "sp"}}
    assert celery_broker("redis://127.0.0.1:6379/1") == ("redis://127.0.0.1:6379/1", {})


def _settings(**env) -> dict:
    """Some settings as a process started with `env` sees them."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'broker': s.CELERY_BROKER_URL, 'options': s.CELERY_BROKER_TRANSPORT_OPTIONS,"
        "'queues': {q.name: q.queue_arguments for q in getattr(s, 'CELERY_TASK_QUEUES', [])},"
        "'server_side_cursors': not s.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS'),"
        "'prepare_threshold': s.DATABASES['default']['OPTIONS'].get('prepare_threshold')}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, "DJANGO_ENV": "test", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_broker_follows_redis_url_through_the_sentinels():
    seen = _settings(REDIS_URL="sentinel://h1:26379,h2:26379/4?service_name=main")
    assert seen["broker"] == "sentinel://h1:26379/4;sentinel://h2:26379/4"
    assert seen["options"]["master_name"] == "main"
    assert seen["queues"] == {}


def test_rabbitmq_as_the_broker_declares_every_queue_as_a_quorum_queue():
    seen = _settings(CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//", REDIS_URL="redis://127.0.0.1:6379/1")
    assert seen["queues"] == {
        name: {"x-queue-type": "quorum"} for name in ("webhooks", "deliveries", "default", "housekeeping")
    }
    assert seen["options"] == {"confirm_publish": True}


def test_behind_pgbouncer_in_transaction_mode_no_server_side_cursor_or_prepared_statement_is_used():
    direct, pooled = _settings(), _settings(DB_TRANSACTION_POOLING="true")
    assert direct["server_side_cursors"] is True and direct["prepare_threshold"] == 5
    # Both live in a server session, which transaction pooling may change between two transactions.
    assert pooled["server_side_cursors"] is False and pooled["prepare_threshold"] is None


def test_every_kind_of_client_keeps_working_when_the_primary_dies(db, tmp_path, client, settings):
    with SentinelGroup(tmp_path / "sentinel") as group:
        direct = redis_connect(group.url)
        limiter = WorkspaceRateLimiter(direct, key_prefix="test:rl", default_limit=5)
        cache = RedisCache(group.url, {"KEY_PREFIX": "test"})
        direct.set("before", "1")
        cache.set("card", {"title": "kept"}, 60)
        assert limiter.acquire("w1") == 0

        promoted = group.kill_primary()

        assert promoted == group.replica
        direct.set("after", "1")  # the same client object now talks to the new primary
        assert direct.get("before") == b"1"  # replicated before the primary died
        assert cache.get("card") == {"title": "kept"}
        cache.set("card", {"title": "new"}, 60)
        assert cache.get("card") == {"title": "new"}
        assert limiter.acquire("w1") == 0
        settings.REDIS_URL = group.url  # /readyz asks the sentinels too
        settings.READYZ_TOKEN = "probe"
        body = client.get("/readyz", headers={"X-Readyz-Token": "probe"}).json()
        assert body["checks"]["redis"]["status"] == "ok", body
