"""Alerts, people and the audit log in a real browser (Chromium), with screenshots kept as artefacts."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from connector.models import Health
from operations.alerts import alerts_check
from tests import factories
from tests.browser.artifacts import shot
from tests.operations.receivers import SMTPReceiver, WebhookReceiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
User = get_user_model()


@pytest.fixture
def admin(log_in):
    user = factories.UserFactory(username="alice", role="Admin")
    return user, log_in(user)


def test_alerts_reach_email_and_webhook_on_break_and_recovery(admin, live_server, settings):
    _, page = admin
    with SMTPReceiver() as smtp, WebhookReceiver() as hook:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        page.goto(f"{live_server.url}/")
        page.get_by_role("link", name="Alerts").click()
        page.get_by_label("Email addresses").fill("ops@example.com")
        page.get_by_label("Webhook URL (Slack-compatible)").fill(hook.url)
        page.get_by_label("Alert when no worker answers").uncheck()  # no worker runs in this test
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_contain_text("Alert settings saved.")
        expect(page.get_by_test_id("webhook-state")).to_have_text("A webhook URL is saved (not shown).")
        page.get_by_role("button", name="Send a test alert").click()
        expect(page.locator(".messages")).to_contain_text("A test alert was sent")
        assert smtp.subjects() == ["Test alert from the Jira ↔ Intercom connector"] and len(hook.posts) == 1

        workspace = factories.IntercomWorkspaceFactory(name="Support", health=Health.BROKEN,
                                                       health_error="Intercom refused the access token (401).")
        alerts_check()  # what beat runs every minute
        alerts_check()
        page.reload()
        expect(page.get_by_test_id("alert-state").filter(has_text="Support")).to_have_attribute("data-open", "yes")
        shot(page, "alerts-open")
        workspace.health = Health.OK
        workspace.save()
        alerts_check()
        page.reload()
        expect(page.get_by_test_id("alert-state").filter(has_text="Support")).to_contain_text("recovered")
        shot(page, "alerts-recovered")
        assert smtp.subjects()[1:] == ["Problem: Intercom workspace Support is broken",
                                       "Recovered: Intercom workspace Support is broken"]
        assert [text.split("\n")[0] for text in hook.texts()[1:]] == [
            "*Problem: Intercom workspace Support is broken*", "*Recovered: Intercom workspace Support is broken*"]
        page.goto(f"{live_server.url}/audit/")
        expect(page.get_by_test_id("audit-entry").filter(has_text="alerts.update")).to_contain_text("webhook_url: set")


def test_people_flows_and_the_audit_log_records_each(admin, live_server):
    _, page = admin
    bob = factories.UserFactory(username="bob", role="Viewer")
    page.goto(f"{live_server.url}/people/")
    page.get_by_role("link", name="alice", exact=True).click()
    expect(page.get_by_test_id("own-permissions")).to_contain_text("Nobody can change their own permissions")
    expect(page.get_by_label("Manage users and permissions")).to_be_disabled()
    expect(page.get_by_role("button", name="Save permissions")).to_have_count(0)
    shot(page, "person-self")

    page.goto(f"{live_server.url}/people/")
    page.get_by_role("link", name="bob", exact=True).click()
    page.get_by_label("Jira account id").fill("5b10a2844c20165700ede21g")
    page.get_by_role("button", name="Save details").click()
    expect(page.locator(".messages")).to_contain_text("Saved bob's details.")
    page.get_by_label("Role").select_option(label="Custom: the permissions ticked below")
    page.get_by_label("Export reports and CSV").check()
    page.get_by_role("button", name="Save permissions").click()
    expect(page.locator(".messages")).to_contain_text("Saved bob's permissions.")
    expect(page.get_by_label("Export reports and CSV")).to_be_checked()
    page.get_by_label("New password").fill("violet tractor maple 7")
    page.get_by_role("button", name="Reset password").click()
    expect(page.locator(".messages")).to_contain_text("bob's password is set")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_test_id("inactive")).to_be_visible()
    shot(page, "person-bob")
    assert not User.objects.get(pk=bob.pk).is_active

    carol, dave = factories.UserFactory(username="carol"), factories.UserFactory(username="dave")
    page.goto(f"{live_server.url}/people/")
    page.get_by_label("select carol").check()
    page.get_by_label("select dave").check()
    page.locator("select[name=role]").select_option(label="Agent")
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_test_id("bulk-people")).to_have_text("carol carol@example.com\ndave dave@example.com",
                                                            use_inner_text=True)
    shot(page, "people-bulk-confirm")
    page.get_by_role("button", name="Apply to these 2").click()
    expect(page.locator(".messages")).to_contain_text("Updated the permissions of 2 user(s).")
    assert all(User.objects.get(pk=u.pk).groups.get().name == "Agent" for u in (carol, dave))

    page.goto(f"{live_server.url}/audit/")
    entries = page.get_by_test_id("audit-entry")
    for action in ("person.update", "person.access", "person.password_reset", "person.deactivate"):
        expect(entries.filter(has_text=action).filter(has_text="bob").first).to_be_visible()
    expect(entries.filter(has_text="person.access").filter(has_text="carol")).to_contain_text("role: Agent")
    page.get_by_label("Changed").fill("bob")
    page.get_by_role("button", name="Filter").click()
    expect(entries).to_have_count(4)
    shot(page, "audit-log")
    with page.expect_download() as download:
        page.get_by_test_id("audit-csv").click()
    assert "person.deactivate" in download.value.path().read_text()
