"""Prometheus figures of the delivery engine, computed when /metrics is scraped from what every node shares
(the rows in PostgreSQL, the counters in Redis), so any web process answers for the whole installation.

Rate-limit waits happen inside pumps on any worker, so the engine counts them in Redis as they happen
(`rate_limit_wait_record`); everything else is read from the `Delivery` rows.
"""

import logging

import redis
from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from deliveries.coordination import redis_client
from deliveries.models import Delivery

logger = logging.getLogger(__name__)

Status = Delivery.Status
WAITING = (Status.PENDING, Status.SENDING, Status.HELD)
FINISHED = (Status.SENT, Status.FAILED, Status.SKIPPED)


def _waits_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:metrics:rate-limit-waits"


def rate_limit_wait_record(workspace_key: str, seconds: float) -> None:
    """Count one wait of a pump for its workspace's rate limit (best effort: a lost count loses no note)."""
    client = redis_client()
    if client is None:
        return
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.hincrby(_waits_key(), f"{workspace_key}:count", 1)
            pipe.hincrbyfloat(_waits_key(), f"{workspace_key}:seconds", seconds)
            pipe.execute()
    except redis.RedisError:
        logger.debug("deliveries.metrics_unrecorded", exc_info=True)


class DeliveryCollector:
    def collect(self):
        by_status = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
        waiting = GaugeMetricFamily(
            "connector_deliveries", "Deliveries waiting to go out, by status", labels=["status"]
        )
        for status in WAITING:
            waiting.add_metric([status], by_status.get(status, 0))
        yield waiting
        finished = CounterMetricFamily(
            "connector_deliveries_finished", "Deliveries that reached a final status, by status", labels=["status"]
        )
        for status in FINISHED:
            finished.add_metric([status], by_status.get(status, 0))
        yield finished

        now = timezone.now()
        oldest = Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).aggregate(
            at=Min("next_attempt_at")
        )["at"]
        yield GaugeMetricFamily(
            "connector_delivery_pump_lag_seconds",
            "How long the most overdue pending delivery has been due (0: nothing is late)",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        yield from self._rate_limit_waits()

    def _rate_limit_waits(self):
        client = redis_client()
        if client is None:
            return
        count = CounterMetricFamily(
            "connector_rate_limit_waits", "Times a pump waited for its workspace's rate limit", labels=["workspace"]
        )
        seconds = CounterMetricFamily(
            "connector_rate_limit_wait_seconds", "Time pumps spent waiting for the rate limit", labels=["workspace"]
        )
        for field, value in sorted(client.hgetall(_waits_key()).items()):
            workspace, _, kind = field.decode().rpartition(":")
            (count if kind == "count" else seconds).add_metric([workspace], float(value))
        yield count
        yield seconds
