"""Alerts: something broke (or recovered), told by email and by a Slack-compatible webhook, once per change.

`alerts_check` (beat, every ALERTS_CHECK_SECONDS) lists the conditions that are wrong now. A condition that
opens is alerted once; while it stays open nothing more is sent; when it is gone a recovery message goes out.
The open/closed state is an `AlertState` row per condition, changed by conditional updates so two overlapping
checks never alert twice.

Conditions: a connection broken or revoked; deliveries failed permanently in the last hour (per workspace); no
webhook from a connected Jira site for `silence_hours`; no worker answering on a queue (heartbeats).
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
import redis
from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Max
from django.utils import timezone

from connector.models import Health, IntercomWorkspace, JiraSite, WebhookEvent
from connector.redis_client import redis_connect
from connector.url_safety import GuardedTransport, UnsafeURL, validate_connection_url
from deliveries.models import Delivery, DeliveryAttempt
from operations.models import AlertSettings, AlertState

logger = logging.getLogger(__name__)
HEARTBEAT_KEY = "operations:heartbeat:{queue}"
WORKER_QUEUES = ("webhooks", "deliveries", "default")


@dataclass(frozen=True)
class Condition:
    key: str
    title: str
    detail: str


def alert_settings() -> AlertSettings:
    return AlertSettings.objects.get_or_create(pk=1)[0]


# --- what is wrong now ------------------------------------------------------------------------------------


def _connections() -> list[Condition]:
    found = []
    bad = (Health.BROKEN, Health.REVOKED)
    for kind, model in (("Jira site", JiraSite), ("Intercom workspace", IntercomWorkspace)):
        for c in model.objects.filter(health__in=bad):
            found.append(Condition(f"connection:{model._meta.model_name}:{c.pk}",
                                   f"{kind} {c.name} is {c.get_health_display().lower()}",
                                   c.health_error or "No detail recorded; open the connection page."))
    return found


def _failed_deliveries(now) -> list[Condition]:
    since = now - timedelta(hours=1)
    # Failed in the last hour: its last attempt failed then, however long ago the delivery was planned.
    failed = DeliveryAttempt.objects.filter(at__gte=since, outcome=Delivery.Status.FAILED).values("delivery_id")
    rows = (Delivery.objects.filter(status=Delivery.Status.FAILED, pk__in=failed).order_by()
            .values("workspace_id", "workspace__name").annotate(n=Count("id"), last=Max("id")))
    found = []
    for row in rows:
        last = Delivery.objects.filter(pk=row["last"]).values_list("last_error", flat=True).first() or ""
        found.append(Condition(f"deliveries-failed:{row['workspace_id']}",
                               f"{row['n']} deliveries into {row['workspace__name']} failed permanently",
                               f"In the last hour. The last error: {last} See the delivery log; failed deliveries "
                               "can be resent from there."))
    return found


def _silent_sites(now, hours: int) -> list[Condition]:
    if not hours:
        return []
    cutoff = now - timedelta(hours=hours)
    found = []
    for site in JiraSite.objects.filter(projects__isnull=False, created_at__lt=cutoff).distinct():
        last = WebhookEvent.objects.filter(site=site).order_by("-received_at").values_list(
            "received_at", flat=True).first()
        if last is None or last < cutoff:
            since = f"since {last:%Y-%m-%d %H:%M} UTC" if last else "ever"
            found.append(Condition(f"silent:{site.pk}", f"No webhook from {site.name} for {hours} hours",
                                   f"Nothing has arrived from Jira {since}. Check the webhook in Jira (is it "
                                   "enabled, does it call this URL?) and the refused deliveries on the dashboard."))
    return found


def heartbeats_send() -> None:
    """Ask each worker queue to answer; `_silent_workers` reads the answers at the next check."""
    for queue in WORKER_QUEUES:
        try:
            current_app.send_task("operations.tasks.worker_heartbeat", args=[queue], queue=queue)
        except Exception as exc:  # the broker is down: the missing answers will say so
            logger.warning("alerts.heartbeat_not_sent", extra={"queue": queue, "error": type(exc).__name__})


def heartbeat_record(queue: str) -> None:
    redis_connect().set(HEARTBEAT_KEY.format(queue=queue), time.time(), ex=24 * 3600)


def _silent_workers() -> list[Condition]:
    """A queue whose heartbeat has not been answered for three checks has no worker listening."""
    limit = 3 * settings.ALERTS_CHECK_SECONDS
    try:
        client = redis_connect()
        started = float(client.get("operations:heartbeats_since") or 0)
        if not started:
            client.set("operations:heartbeats_since", time.time())
            return []
        answers = client.mget([HEARTBEAT_KEY.format(queue=q) for q in WORKER_QUEUES])
    except redis.RedisError:
        return []
    now = time.time()
    if now - started < limit:  # just started: give the workers time to answer once
        return []
    silent = [q for q, at in zip(WORKER_QUEUES, answers, strict=True) if not at or now - float(at) > limit]
    if not silent:
        return []
    return [Condition("workers", f"No worker is listening on {', '.join(silent)}",
                      "Webhooks are stored but not processed, and notes are not sent. Start the worker process "
                      "(Procfile: worker) and check its log.")]


def conditions_now(config: AlertSettings, now=None) -> list[Condition]:
    now = now or timezone.now()
    found = _connections() + _silent_sites(now, config.silence_hours)
    if config.failed_deliveries:
        found += _failed_deliveries(now)
    if config.worker_check:
        found += _silent_workers()
    return found


# --- telling people ----------------------------------------------------------------------------------------


def _text(kind: str, state_title: str, detail: str) -> tuple[str, str]:
    site = settings.PUBLIC_URL or "the connector"
    if kind == "recovered":
        return f"Recovered: {state_title}", f"Recovered: {state_title}.\n\nFixed now. ({site})"
    if kind == "test":
        return "Test alert from the Jira ↔ Intercom connector", f"{detail}\n\n({site})"
    return f"Problem: {state_title}", f"Problem: {state_title}.\n\n{detail}\n\nDashboard: {site}/"


def alert_send(config: AlertSettings, kind: str, title: str, detail: str) -> list[str]:
    """Send one alert to every configured channel; returns the failures in words (empty: all sent)."""
    subject, body = _text(kind, title, detail)
    failures = []
    if config.email_list:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, config.email_list)
        except Exception as exc:  # any mail failure (refused, unreachable, bad settings) is reported, not raised
            failures.append(f"Email could not be sent: {type(exc).__name__}: {exc}. Check the EMAIL_* settings.")
    if config.webhook_url:
        failures += _post_webhook(config.webhook_url, {"text": f"*{subject}*\n{body}"})
    if not config.email_list and not config.webhook_url:
        failures.append("No email address and no webhook URL are set, so nobody was told.")
    return failures


def _post_webhook(url: str, payload: dict) -> list[str]:
    try:
        validate_connection_url(url)
        with httpx.Client(transport=GuardedTransport(), timeout=settings.VENDOR_TIMEOUT_SECONDS) as client:
            response = client.post(url, json=payload)
    except UnsafeURL as exc:
        return [f"The webhook URL is refused: {exc.message}"]
    except httpx.HTTPError as exc:
        return [f"The webhook could not be reached: {type(exc).__name__}: {exc}."]
    if response.status_code >= 300:
        return [f"The webhook answered {response.status_code}: {response.text[:200]}"]
    return []


def alert_send_test(config: AlertSettings) -> list[str]:
    return alert_send(config, "test", "Test alert",
                      "This is a test alert. If you read this, alerts reach you here.")


def alerts_check(now=None) -> dict:
    """Open and alert what went wrong, close and alert what recovered. Returns what was sent, for the log."""
    config = alert_settings()
    now = now or timezone.now()
    conditions = {c.key: c for c in conditions_now(config, now)}
    sent = {"opened": [], "recovered": []}
    for condition in conditions.values():
        state, created = AlertState.objects.get_or_create(
            key=condition.key, defaults={"title": condition.title, "detail": condition.detail, "opened_at": now})
        if not created and not AlertState.objects.filter(pk=state.pk, is_open=False).update(
            is_open=True, opened_at=now, closed_at=None, title=condition.title, detail=condition.detail
        ):
            continue  # open already: told once
        _notify(config, state.pk, "problem", condition.title, condition.detail)
        sent["opened"].append(condition.key)
    for state in AlertState.objects.filter(is_open=True).exclude(key__in=list(conditions)):
        if AlertState.objects.filter(pk=state.pk, is_open=True).update(is_open=False, closed_at=now):
            _notify(config, state.pk, "recovered", state.title, state.detail)
            sent["recovered"].append(state.key)
    return sent


def _notify(config: AlertSettings, state_pk: int, kind: str, title: str, detail: str) -> None:
    failures = alert_send(config, kind, title, detail) if config.enabled else ["Alerts are turned off."]
    AlertState.objects.filter(pk=state_pk).update(notified_at=timezone.now(), last_error=" ".join(failures))
    if failures:
        logger.warning("alerts.not_delivered", extra={"kind": kind, "title": title, "failures": failures})
