from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from tests.conftest import wait_for
from tests.factories import JiraSiteFactory, UserFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db


def test_healthz_says_the_process_is_alive(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(role="Agent"))  # agents hold view_operations
    return client


def test_readyz_tells_anonymous_callers_only_up_or_down(client):
    JiraSiteFactory(name="Acme Jira", health="revoked", health_error="Credentials deleted by alice")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert b"Acme Jira" not in response.content and b"alice" not in response.content


def test_readyz_details_need_view_operations(client):
    JiraSiteFactory(name="Acme Jira")
    client.force_login(UserFactory())  # signed in, but no role
    assert client.get("/readyz").json() == {"status": "ok"}


def test_readyz_details_are_given_for_the_readyz_token(client, settings):
    settings.READYZ_TOKEN = "probe-secret-1"
    JiraSiteFactory(name="Acme Jira")
    assert client.get("/readyz", HTTP_X_READYZ_TOKEN="wrong").json() == {"status": "ok"}
    body = client.get("/readyz", HTTP_X_READYZ_TOKEN="probe-secret-1").json()
    assert body["connections"][0]["name"] == "Acme Jira" and body["checks"]["database"]["status"] == "ok"


def test_without_a_readyz_token_setting_no_header_unlocks_the_details(client, settings):
    settings.READYZ_TOKEN = ""
    assert client.get("/readyz", HTTP_X_READYZ_TOKEN="").json() == {"status": "ok"}


def test_readyz_reports_each_dependency_with_latency(operator_client):
    client = operator_client
    JiraSiteFactory(name="Acme Jira", health="broken", health_error="401 from Jira")
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert {"kind": "jira", "name": "Acme Jira", "status": "broken"}.items() <= body["connections"][0].items()


def test_readyz_answers_503_when_the_broker_is_down(client, operator_client):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        anonymous = Client().get("/readyz")
        response = operator_client.get("/readyz")
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "down"}
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_readyz_says_whether_a_worker_listens_for_deliveries_and_how_many_wait(operator_client, celery_worker):
    client = operator_client

    wait_for(lambda: client.get("/readyz").json()["intake"]["listener"] == "listening", message="the listener")
    overdue = timezone.now() - timedelta(minutes=5)  # a retry nobody picked up: the sweeper's, not the listener's
    WebhookEventFactory(site=JiraSiteFactory(), delivery_id="old", event_type="", payload={}, next_attempt_at=overdue)
    assert client.get("/readyz").json()["intake"] == {"listener": "listening", "overdue_events": 1}
