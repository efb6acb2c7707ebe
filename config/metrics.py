"""/metrics in Prometheus' text format, behind METRICS_TOKEN (`Authorization: Bearer <token>`).

Every figure is computed at scrape time from what all nodes share (PostgreSQL rows, Redis counters, the
broker's queues), so any web process of any node gives the installation's numbers and nothing depends on
which gunicorn worker answers. Without METRICS_TOKEN the endpoint does not exist (404).
"""

import logging

import redis
from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import KombuError
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from config.celery import app as celery_app
from deliveries.metrics import DeliveryCollector
from pipeline.metrics import IntakeCollector

logger = logging.getLogger(__name__)

OUTAGES = (DatabaseError, redis.RedisError, KombuError, OSError)


class QueueCollector:
    """Messages waiting in each broker queue (Redis or RabbitMQ alike, through kombu)."""

    def collect(self):
        family = GaugeMetricFamily("connector_queue_messages", "Messages waiting in the broker", labels=["queue"])
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            for queue in settings.CELERY_QUEUE_NAMES:
                channel = conn.channel()
                try:
                    _, waiting, _ = channel.queue_declare(queue=queue, passive=True)
                except conn.channel_errors:  # never declared yet: nothing waits in it
                    waiting = 0
                finally:
                    channel.close()
                family.add_metric([queue], waiting)
        yield family


class Guarded:
    """One source that is down must not cost the others: its figures are left out and
    connector_metrics_<name>_up says so."""

    def __init__(self, name: str, collector):
        self.name, self.collector = name, collector

    def collect(self):
        try:
            families = list(self.collector.collect())
        except OUTAGES as exc:
            logger.warning("metrics.source_down", extra={"source": self.name, "error": type(exc).__name__})
            families, up = [], 0
        else:
            up = 1
        yield _source_up(self.name, up)
        yield from families


def _source_up(name: str, up: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"connector_metrics_{name}_up", f"1 when the {name} figures were read", value=up)


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Guarded("intake", IntakeCollector()))
    registry.register(Guarded("deliveries", DeliveryCollector()))
    registry.register(Guarded("queues", QueueCollector()))
    return registry


def _authorised(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token) and constant_time_compare(token.strip(), settings.METRICS_TOKEN)


@never_cache
@require_GET
def metrics(request):
    if not settings.METRICS_TOKEN:
        raise Http404
    if not _authorised(request):
        response = HttpResponse("A valid bearer token (METRICS_TOKEN) is required.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The classic text format: every Prometheus (and agent) version reads it, and our names need no escaping.
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
