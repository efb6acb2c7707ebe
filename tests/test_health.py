from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from tests.conftest import wait_for
from tests.factories import JiraSiteFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db


def test_healthz_says_the_process_is_alive(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_each_dependency_with_latency(client):
    JiraSiteFactory(name="Acme Jira", health="broken", health_error="401 from Jira")
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert {"kind": "jira", "name": "Acme Jira", "status": "broken"}.items() <= body["connections"][0].items()


def test_readyz_answers_503_when_the_broker_is_down(client):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_readyz_says_whether_a_worker_listens_for_deliveries_and_how_many_wait(client, celery_worker):

    wait_for(lambda: client.get("/readyz").json()["intake"]["listener"] == "listening", message="the listener")
    overdue = timezone.now() - timedelta(minutes=5)  # a retry nobody picked up: the sweeper's, not the listener's
    WebhookEventFactory(site=JiraSiteFactory(), delivery_id="old", event_type="", payload={}, next_attempt_at=overdue)
    assert client.get("/readyz").json()["intake"] == {"listener": "listening", "overdue_events": 1}
