"""Prometheus figures of webhook intake, computed when /metrics is scraped from the `WebhookEvent` rows and
the listener's lock in PostgreSQL, so they hold for every node whichever web process answers."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from connector.models import WebhookEvent
from pipeline.listener import listener_active

Status = WebhookEvent.Status
OUTCOMES = (Status.PROCESSED, Status.IGNORED, Status.ANOMALOUS, Status.FAILED)
LATENCY_WINDOW = timedelta(minutes=5)
LATENCY_SAMPLE = 5000  # the newest events of the window; enough for a 99th percentile
QUANTILES = (0.5, 0.9, 0.99)


def _quantiles(values: list[float]) -> dict[float, float]:
    if not values:
        return {}
    values = sorted(values)
    return {q: values[min(len(values) - 1, int(q * len(values)))] for q in QUANTILES}


class IntakeCollector:
    def collect(self):
        counts: dict[tuple[str, str], int] = {
            (source, status): n
            for source, status, n in WebhookEvent.objects.values_list("source", "status")
            .annotate(n=Count("id"))
            .order_by()
        }
        received = CounterMetricFamily("connector_webhook_events", "Webhook deliveries stored", labels=["source"])
        outcomes = CounterMetricFamily(
            "connector_webhook_event_outcomes", "Webhook events handled, by outcome", labels=["source", "outcome"]
        )
        waiting = GaugeMetricFamily(
            "connector_webhook_events_waiting", "Webhook events stored and not yet handled", labels=["source"]
        )
        for source in WebhookEvent.Source.values:
            received.add_metric([source], sum(n for (s, _), n in counts.items() if s == source))
            waiting.add_metric([source], counts.get((source, Status.RECEIVED), 0))
            for outcome in OUTCOMES:
                outcomes.add_metric([source, outcome], counts.get((source, outcome), 0))
        yield from (received, outcomes, waiting)
        yield from self._latency()

        active = listener_active()
        if active is not None:
            yield GaugeMetricFamily(
                "connector_intake_listener_up", "1 while a worker listens for stored webhooks", value=int(active)
            )

    def _latency(self):
        since = timezone.now() - LATENCY_WINDOW
        rows = list(
            WebhookEvent.objects.filter(received_at__gte=since, processed_at__isnull=False)
            .order_by("-received_at")
            .values_list("received_at", "processed_at", "duration_ms")[:LATENCY_SAMPLE]
        )
        handled = _quantiles([(done - received).total_seconds() for received, done, _ in rows])
        processing = _quantiles([ms / 1000 for _, _, ms in rows if ms is not None])
        for name, help_text, values in (
            ("connector_intake_latency_seconds", "From storing a webhook to having handled it", handled),
            ("connector_event_processing_seconds", "Time spent processing one webhook event", processing),
        ):
            family = GaugeMetricFamily(
                name, f"{help_text}, over the events of the last 5 minutes", labels=["quantile"]
            )
            for q, value in values.items():
                family.add_metric([str(q)], value)
            yield family
