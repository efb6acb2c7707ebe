"""Alerts: told once when something breaks, once when it recovers, by email and a Slack-compatible webhook."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from connector.models import Health
from deliveries.models import Delivery, DeliveryAttempt
from operations.alerts import alert_settings, alerts_check, heartbeat_record
from operations.models import AlertSettings, AlertState
from tests import factories
from tests.operations.receivers import SMTPReceiver, WebhookReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    with SMTPReceiver() as receiver:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", receiver.port
        yield receiver


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def configured(smtp, hook):
    AlertSettings.objects.update_or_create(pk=1, defaults={
        "emails": "ops@example.com", "webhook_url": hook.url, "worker_check": False})
    return smtp, hook


def test_a_broken_connection_is_told_once_and_its_recovery_once(configured):
    smtp, hook = configured
    workspace = factories.IntercomWorkspaceFactory(name="Support", health=Health.BROKEN,
                                                   health_error="Intercom refused the access token (401).")
    assert alerts_check()["opened"] == [f"connection:intercomworkspace:{workspace.pk}"]
    alerts_check()  # still broken: nothing more
    assert smtp.subjects() == ["Problem: Intercom workspace Support is broken"]
    assert len(hook.posts) == 1 and "Intercom refused the access token (401)." in hook.texts()[0]
    workspace.health = Health.OK
    workspace.save()
    alerts_check()
    alerts_check()
    assert smtp.subjects()[1:] == ["Recovered: Intercom workspace Support is broken"]
    assert hook.texts()[1].startswith("*Recovered: Intercom workspace Support is broken*")
    assert smtp.messages[0]["to"] == ["ops@example.com"]


def test_failed_deliveries_and_a_silent_site_are_alerted(configured):
    smtp, _ = configured
    site = factories.JiraSiteFactory(name="Acme")
    factories.ProjectConnectionFactory(site=site)
    type(site).objects.filter(pk=site.pk).update(created_at=timezone.now() - timedelta(days=2))
    failed = factories.DeliveryFactory(status=Delivery.Status.FAILED, last_error="Intercom said 422.")
    Delivery.objects.filter(pk=failed.pk).update(created_at=timezone.now() - timedelta(days=1))  # planned long ago
    DeliveryAttempt.objects.create(delivery=failed, at=timezone.now(), outcome="failed", status_code=422)
    alerts_check()
    subjects = sorted(smtp.subjects())
    assert subjects[0].startswith("Problem: 1 deliveries into Workspace")
    assert subjects[1] == "Problem: No webhook from Acme for 6 hours"


def test_a_queue_without_a_worker_is_alerted_after_three_checks(configured, settings, redis_client):
    redis_client.flushdb()
    smtp, _ = configured
    AlertSettings.objects.filter(pk=1).update(worker_check=True)
    alerts_check()  # starts the clock
    redis_client.set("operations:heartbeats_since", 1)  # long ago
    heartbeat_record("webhooks")
    heartbeat_record("deliveries")
    alerts_check()
    assert smtp.subjects() == ["Problem: No worker is listening on default"]
    heartbeat_record("default")
    alerts_check()
    assert smtp.subjects()[-1] == "Recovered: No worker is listening on default"


def test_a_failed_send_is_shown_on_the_alerts_page(admin_client, db):
    AlertSettings.objects.update_or_create(pk=1, defaults={"webhook_url": "http://127.0.0.1:9/hook"})
    factories.JiraSiteFactory(name="Acme", health=Health.REVOKED)
    alerts_check()
    state = AlertState.objects.get()
    assert state.is_open and "The webhook could not be reached" in state.last_error
    page = admin_client.get(reverse("alerts")).content.decode()
    assert "Jira site Acme is revoked" in page and "could not be reached" in page


def test_the_settings_page_saves_never_shows_the_webhook_and_records_the_change(admin_client, hook):
    response = admin_client.post(reverse("alerts"), {
        "enabled": "on", "emails": "ops@example.com\n  oncall@example.com ", "webhook_url": hook.url,
        "silence_hours": "12", "failed_deliveries": "on"})
    assert response.status_code == 302
    config = alert_settings()
    assert config.email_list == ["ops@example.com", "oncall@example.com"] and config.webhook_url == hook.url
    page = admin_client.get(reverse("alerts")).content.decode()
    assert "secret" not in page and "A webhook URL is saved (not shown)." in page
    entry = AuditEntry.objects.get(action="alerts.update")
    assert entry.after["webhook_url"] == "set" and entry.after["silence_hours"] == 12


def test_a_bad_address_or_a_private_webhook_is_refused(admin_client, settings):
    settings.ALLOW_PRIVATE_URLS = False
    response = admin_client.post(reverse("alerts"), {"emails": "not an address", "silence_hours": "6",
                                                     "webhook_url": "http://10.0.0.1/hook"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "is not an email address" in str(form.errors["emails"])
    assert "private" in str(form.errors["webhook_url"])


def test_a_test_alert_reaches_both_channels(admin_client, configured):
    smtp, hook = configured
    response = admin_client.post(reverse("alerts"), {"action": "test"}, follow=True)
    assert "A test alert was sent" in response.content.decode()
    assert smtp.subjects() == ["Test alert from the Jira ↔ Intercom connector"]
    assert "This is a test alert" in hook.texts()[0]


def test_alerts_need_the_connections_permission(client, db):
    client.force_login(factories.UserFactory(role="Agent"))
    assert client.get(reverse("alerts")).status_code == 403
