"""/metrics: behind METRICS_TOKEN, valid Prometheus exposition, and figures that move with what the service
does (webhooks stored and handled, deliveries sent, pumps waiting for the rate limit, broker queues)."""

import json
import re
import time

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from config.celery import app as celery_app
from deliveries import engine
from deliveries.coordination import limiter
from pipeline.process import webhook_event_process
from tests.conftest import REPO, workspace_for
from tests.factories import DeliveryFactory, JiraSiteFactory
from tests.webhooks import jira_sample, post_jira

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests"
TRANSITION = "webhook-issue-updated-started-working.json"


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}; parsing fails on invalid exposition."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture(autouse=True)
def _token():
    with override_settings(METRICS_TOKEN=TOKEN):
        yield


@override_settings(METRICS_TOKEN="")
def test_without_a_configured_token_there_is_no_metrics_endpoint(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"bearer{TOKEN}"])
def test_a_missing_or_wrong_token_is_refused_with_401(client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"METRICS_TOKEN" in response.content and b"connector_" not in response.content


def test_the_right_token_gets_every_family_in_the_text_format(client):
    samples = scrape(client)
    names = {name for name, _ in samples}
    assert {
        "connector_webhook_events_total",
        "connector_webhook_event_outcomes_total",
        "connector_webhook_events_waiting",
        "connector_deliveries",
        "connector_deliveries_finished_total",
        "connector_delivery_pump_lag_seconds",
        "connector_queue_messages",
        "connector_intake_listener_up",
        "connector_metrics_intake_up",
        "connector_metrics_deliveries_up",
        "connector_metrics_queues_up",
    } <= names
    assert samples[("connector_intake_listener_up", ())] == 0  # no worker listens during this test
    assert samples[("connector_metrics_queues_up", ())] == 1


def test_only_get_is_allowed(client):
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_a_webhook_moves_intake_counts_outcomes_and_latency(client):
    site = JiraSiteFactory()
    before = scrape(client)
    assert post_jira(client, site, jira_sample(TRANSITION)).status_code == 202
    stored = scrape(client)
    jira = (("source", "jira"),)
    assert stored[("connector_webhook_events_total", jira)] == before[("connector_webhook_events_total", jira)] + 1
    assert stored[("connector_webhook_events_waiting", jira)] == before[("connector_webhook_events_waiting", jira)] + 1

    event_id = site.events.get().pk
    webhook_event_process(event_id)
    handled = scrape(client)
    assert handled[("connector_webhook_events_waiting", jira)] == before[("connector_webhook_events_waiting", jira)]
    outcomes = [
        handled[("connector_webhook_event_outcomes_total", (("outcome", o), ("source", "jira")))]
        - before[("connector_webhook_event_outcomes_total", (("outcome", o), ("source", "jira")))]
        for o in ("processed", "ignored", "anomalous", "failed")
    ]
    assert sum(outcomes) == 1
    assert handled[("connector_intake_latency_seconds", (("quantile", "0.5"),))] >= 0


def test_deliveries_move_by_status_and_rate_limit_waits_are_counted(client, intercom_sim, redis_client):
    workspace = workspace_for(intercom_sim)
    redis_client.delete(*redis_client.keys(f"*{{{workspace.pk}}}*") or ["none"])
    conversations = intercom_sim.add_conversations(3)
    for cid in conversations:
        DeliveryFactory(workspace=workspace, conversation_id=cid)
    ws = (("workspace", str(workspace.pk)),)
    before = scrape(client)
    assert before[("connector_deliveries", (("status", "pending"),))] == 3

    limiter().block_until(str(workspace.pk), time.time() + 0.3)  # as after a 429: the pump has to wait
    assert engine.pump(workspace.pk) == {"sent": 3}
    after = scrape(client)
    assert after[("connector_deliveries", (("status", "pending"),))] == 0
    sent = ("connector_deliveries_finished_total", (("status", "sent"),))
    assert after[sent] == before[sent] + 3
    for name in ("connector_rate_limit_waits_total", "connector_rate_limit_wait_seconds_total"):
        assert after[(name, ws)] > before.get((name, ws), 0)
    assert after[("connector_delivery_pump_lag_seconds", ())] == 0


def test_broker_queue_lengths_are_read_from_the_broker(client):
    queue = (("queue", "housekeeping"),)
    celery_app.connection_for_write().default_channel.queue_purge("housekeeping")
    before = scrape(client)[("connector_queue_messages", queue)]
    celery_app.send_task("tests.metrics_probe", queue="housekeeping")
    try:
        assert scrape(client)[("connector_queue_messages", queue)] == before + 1
    finally:
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge("housekeeping")


def test_the_grafana_dashboard_charts_only_figures_that_metrics_exports(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    families = list(text_string_to_metric_families(response.content.decode()))
    exported = {f.name for f in families} | {f"{f.name}_total" for f in families if f.type == "counter"}
    dashboard = json.loads((REPO / "deploy" / "grafana" / "connector.json").read_text())
    charted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"connector_[a-z_]+", target["expr"])
    }
    assert charted and charted <= exported, charted - exported
