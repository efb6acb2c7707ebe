"""The dashboard: a setup checklist with next steps, health that counts missing permissions, the last 24 hours,
running fan-outs; refused webhooks counted per sender and reason."""

import pytest
from django.urls import reverse
from django.utils import timezone

from connector.models import Health
from deliveries.models import Delivery
from deliveries.selectors import fanout_progress
from operations.dashboard import connection_health, last_day, setup_checklist
from pipeline.refusals import refusals_for
from tests import factories

pytestmark = pytest.mark.django_db


def states(steps):
    return {s.key: s.state for s in steps}


def test_a_fresh_install_lists_every_step_to_do_with_where_to_do_it(db):
    steps = setup_checklist()
    # The default rules come with the install, turned on.
    assert states(steps) == dict.fromkeys(["site", "permissions", "webhook", "workspace", "projects"], "todo") | {
        "rules": "ok"}
    site = next(s for s in steps if s.key == "site")
    assert site.url == reverse("jira_site_create") and "API token" in site.next_step


def test_a_working_install_is_all_done(sup):
    sup.rule(name="Work started")
    sup.project.permissions_checked_at = timezone.now()
    sup.project.save()
    sup.transition()
    assert set(states(setup_checklist()).values()) == {"ok"}


def test_a_site_whose_app_user_lacks_permissions_is_a_problem_not_working(sup):
    sup.project.missing_permissions = ["ADD_COMMENTS", "EDIT_ISSUES", "TRANSITION_ISSUES", "CREATE_ATTACHMENTS"]
    sup.project.permissions_checked_at = timezone.now()
    sup.project.save()
    step = next(s for s in setup_checklist() if s.key == "permissions")
    assert step.state == "problem"
    assert "lacks 4 of 6 permissions: Add comments, Edit issues" in step.detail
    (site_row,) = [h for h in connection_health() if h.kind == "Jira site"]
    assert site_row.state == "problem" and site_row.summary == "Working, with problems"


def test_the_inbox_app_line_says_what_it_lacks(sup):
    step = next(s for s in setup_checklist() if s.key == "inbox")
    assert step.state == "ok" and "0 of 1 project(s) have a create-issue form" in step.detail
    sup.workspace.client_secret = ""
    sup.workspace.save()
    step = next(s for s in setup_checklist() if s.key == "inbox")
    assert step.state == "todo" and "no client secret" in step.detail


def test_a_broken_connection_shows_its_error_and_the_way_to_fix_it(sup):
    sup.workspace.health, sup.workspace.health_error = Health.BROKEN, "Intercom refused the app user's credentials."
    sup.workspace.save()
    step = next(s for s in setup_checklist() if s.key == "workspace")
    assert step.state == "problem" and "refused" in step.detail
    assert step.url == reverse("intercom_workspace_detail", args=[sup.workspace.pk])


def test_the_last_day_counts_events_and_notes(sup):
    sup.rule(name="Work started")
    sup.transition()
    sup.send()
    Delivery.objects.filter(pk=Delivery.objects.first().pk).update(status="held", sent_at=None)
    glance = last_day()
    assert (glance.events_received, glance.notes_sent, glance.notes_held) == (1, 1, 1)


def test_the_dashboard_page_shows_each_section_to_those_who_may_act(admin_client, client):
    page = admin_client.get(reverse("home")).content.decode()
    for section in ("setup-checklist", "health", "glance", "fanouts"):
        assert f'data-testid="{section}"' in page
    client.force_login(factories.UserFactory(role="Viewer"))
    page = client.get(reverse("home")).content.decode()
    assert "setup-checklist" not in page and "Use the navigation above" in page


def test_settings_for_linking_are_in_the_navigation(admin_client):
    page = admin_client.get(reverse("home")).content.decode()
    assert f'href="{reverse("linking_settings")}"' in page


def test_a_fan_out_whose_deliveries_are_all_held_is_not_done(db):
    event = factories.WebhookEventFactory()
    factories.DeliveryFactory.create_batch(3, webhook_event=event, status="held")
    (progress,) = fanout_progress(Delivery.objects.all())
    assert (progress.percent, progress.held, progress.done) == (0, 3, 0)


def test_refused_webhooks_are_counted_per_site_and_reason_without_the_body(client, admin_client, sup):
    url = reverse("jira_webhook", args=[sup.site.public_id])
    for _ in range(2):
        client.post(url, data=b'{"secret": "payload"}', content_type="application/json",
                    HTTP_X_HUB_SIGNATURE="sha256=" + "0" * 64, HTTP_USER_AGENT="Atlassian Webhook HTTP Client")
    refusals = refusals_for(source="jira", sender=str(sup.site.public_id))
    assert refusals.counts == [("401 The X-Hub-Signature does not match this site's webhook secret.", 2)]
    last = refusals.last[0]
    assert last["headers"]["User-Agent"] == "Atlassian Webhook HTTP Client"
    assert last["headers"]["X-Hub-Signature"] == "sha256=…" and last["size"] == 21
    assert "payload" not in str(refusals.last)
    assert last_day().events_refused == 2
    page = admin_client.get(reverse("home")).content.decode()
    assert "2 \u00d7 401 The X-Hub-Signature does not match" in page and "From Acme Jira" in page
