"""Liveness and readiness probes.

/healthz says the process runs. /readyz checks what the service cannot work without (database, broker,
Redis); a broken vendor connection does not make the service unready (restarting it would not help). Anyone
may ask whether the service is up; the details (each check, each connection's name and last error, intake)
say who did what, so they go only to a signed-in user with view_operations or to a probe that sends
settings.READYZ_TOKEN in the X-Readyz-Token header.
"""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache

from config.celery import app as celery_app
from connector.models import IntercomWorkspace, JiraSite
from connector.redis_client import redis_connect
from pipeline.events import webhook_event_due_count
from pipeline.listener import listener_active


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        result = {"status": "ok"}
        if detail:
            result["detail"] = detail
    except Exception as exc:
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _redis(url: str):
    client = redis_connect(url, socket_connect_timeout=1, socket_timeout=1, retry_on_timeout=False)
    try:
        client.ping()
    finally:
        client.close()


def _broker():
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return _redis(url)
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return None


def _connections() -> list[dict]:
    rows = []
    for kind, model in (("jira", JiraSite), ("intercom", IntercomWorkspace)):
        for conn in model.objects.only("name", "health", "health_error", "health_checked_at"):
            rows.append(
                {
                    "kind": kind,
                    "name": conn.name,
                    "status": conn.health,
                    "error": conn.health_error,
                    "checked_at": conn.health_checked_at,
                }
            )
    return rows


def _intake() -> dict:
    """Whether a worker listens for stored deliveries (without one, webhooks wait for the sweeper), and how
    many events are overdue: never picked up past the sweep threshold, or due for another attempt."""
    return {
        "listener": {True: "listening", False: "none", None: "not used"}[listener_active()],
        "overdue_events": webhook_event_due_count(),
    }


def healthz(request):
    return JsonResponse({"status": "ok"})


def _may_see_details(request) -> bool:
    token = request.headers.get("X-Readyz-Token", "")
    if settings.READYZ_TOKEN and token and constant_time_compare(token, settings.READYZ_TOKEN):
        return True
    return request.user.is_authenticated and request.user.has_perm("accounts.view_operations")


@never_cache
def readyz(request):
    checks = {"database": _timed(_database), "broker": _timed(_broker)}
    if settings.REDIS_URL and settings.REDIS_URL != settings.CELERY_BROKER_URL:
        checks["redis"] = _timed(lambda: _redis(settings.REDIS_URL))
    ready = all(c["status"] == "ok" for c in checks.values())
    status = 200 if ready else 503
    if not _may_see_details(request):
        return JsonResponse({"status": "ok" if ready else "down"}, status=status)
    body = {"status": "ok" if ready else "down", "checks": checks}
    if checks["database"]["status"] == "ok":
        body["connections"] = _connections()
        body["intake"] = _intake()
    return JsonResponse(body, status=status)
