"""The support settings page (tracker tickets, the customer's voice), the issue page's tracker button, and ticket
actions in the rule editor and the rules API."""

import pytest
from django.urls import reverse

from deliveries.models import Delivery
from linking.models import SupportSettings
from notifications.models import NotificationRule
from tests.notifications.test_views_rules import editor_data

pytestmark = pytest.mark.django_db


def test_the_support_page_offers_the_workspaces_tracker_types_and_saves(connected, admin_client):
    url = reverse("support_settings", args=[connected.project.pk])
    page = admin_client.get(url).content.decode()
    tracker_type = connected.intercom.tracker_type
    assert f'value="{tracker_type["id"]}"' in page and tracker_type["name"] in page
    assert connected.intercom.customer_type["name"] not in page  # only Tracker-category types
    response = admin_client.post(url, {
        "tracker_ticket_type_id": tracker_type["id"], "tracker_auto_create": "on", "jira_key_attribute": "Jira key",
        "tracker_contact_email": "", "voice_enabled": "on", "voice_visibility": "internal",
        "voice_visibility_value": "", "voice_window_seconds": "300",
    })
    assert response.status_code == 302
    saved = SupportSettings.objects.get(project=connected.project)
    assert (saved.tracker_ticket_type_id, saved.tracker_auto_create, saved.voice_enabled) == (
        tracker_type["id"], True, True)


def test_a_role_restriction_needs_a_role_name(connected, admin_client):
    url = reverse("support_settings", args=[connected.project.pk])
    response = admin_client.post(url, {"voice_enabled": "on", "voice_visibility": "role",
                                       "voice_visibility_value": "", "voice_window_seconds": "60",
                                       "jira_key_attribute": "Jira key"})
    assert response.status_code == 200
    assert "Name the role or group" in response.content.decode()
    assert not SupportSettings.objects.exists()


def test_the_page_says_what_to_do_when_intercom_cannot_list_ticket_types(connected, admin_client):
    connected.intercom.revoke_token()
    page = admin_client.get(reverse("support_settings", args=[connected.project.pk])).content.decode()
    assert "did not list the workspace" in page and "Check the workspace" in page


def test_the_issue_page_creates_the_tracker_once_and_explains_a_missing_contact(connected, admin_client, eager):
    SupportSettings.objects.create(project=connected.project,
                                   tracker_ticket_type_id=connected.intercom.tracker_type["id"])
    issue = connected.issue()
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert "Create the tracker ticket in Intercom" in page
    response = admin_client.post(f"/issues/{issue['key']}/tracker", follow=True)
    assert "set the tracker contact email" in response.content.decode()
    SupportSettings.objects.update(tracker_contact_email="trackers@example.com")
    admin_client.post(f"/issues/{issue['key']}/tracker")
    admin_client.post(f"/issues/{issue['key']}/tracker")
    (delivery,) = Delivery.objects.filter(action="tracker_create")
    assert delivery.params["contact"] == {"email": "trackers@example.com"}


def test_the_rule_editor_saves_ticket_actions(admin_client):
    NotificationRule.objects.all().delete()
    response = admin_client.post(reverse("rule_create"), editor_data(
        act_note=None, act_ticket_state="on", ticket_state_map="In Review = waiting_on_customer",
        act_ticket_attribute="on", ticket_attribute="Fix version", ticket_attribute_from="fix_versions",
    ))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert NotificationRule.objects.get().actions == [
        {"type": "ticket_state", "map": {"In Review": "waiting_on_customer"}},
        {"type": "ticket_attribute", "attribute": "Fix version", "from": "fix_versions"},
    ]
    bad = admin_client.post(reverse("rule_create"), editor_data(
        act_note=None, act_ticket_state="on", ticket_state_map="Done = finished"))
    assert bad.status_code == 200 and "ticket state category is one of" in bad.content.decode()


def test_the_rules_api_validates_ticket_actions(admin_client):
    base = {"name": "Tickets", "trigger": "issue_transitioned"}
    ok = admin_client.post("/api/rules/", {**base, "actions": [{"type": "ticket_state"}]},
                           content_type="application/json")
    assert ok.status_code == 201, ok.content
    for actions, message in (
        ([{"type": "ticket_attribute"}], "needs attribute"),
        ([{"type": "ticket_state", "map": {"Done": "closed"}}], "ticket state category"),
        ([{"type": "tracker_create"}], "Unknown action"),
    ):
        response = admin_client.post("/api/rules/", {**base, "actions": actions}, content_type="application/json")
        assert response.status_code == 400 and message in response.content.decode()
