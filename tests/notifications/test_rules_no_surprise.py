"""Rules that do not surprise: a warning when two rules post the same note, typo placeholders need a tick."""

import pytest
from django.urls import reverse

from notifications.models import NotificationRule
from tests import factories

pytestmark = pytest.mark.django_db


def form_data(**fields):
    return {"name": "Started", "trigger": "issue_transitioned", "enabled": "on", "to_status": "In Progress",
            "act_note": "on", "coalesce_seconds": "0", "comment_visibility": ["public"], **fields}


def test_two_rules_posting_for_the_same_transition_are_warned_about(admin_client):
    NotificationRule.objects.all().delete()
    factories.NotificationRuleFactory(name="Any transition")  # every project, any status, a note
    response = admin_client.post(reverse("rule_create"), form_data(), follow=True)
    page = response.content.decode()
    assert "The enabled rule “Any transition” also posts into the same conversations" in page
    rule = NotificationRule.objects.get(name="Started")
    assert 'data-testid="overlap"' in admin_client.get(reverse("rule_edit", args=[rule.pk])).content.decode()


def test_rules_that_cannot_both_fire_are_not_warned_about(admin_client):
    NotificationRule.objects.all().delete()
    factories.NotificationRuleFactory(name="Done", to_status="Done")
    factories.NotificationRuleFactory(name="Stops", stop_after=True)
    factories.NotificationRuleFactory(name="Closes only", actions=[{"type": "close"}])
    response = admin_client.post(reverse("rule_create"), form_data(), follow=True)
    assert "also posts into the same conversations" not in response.content.decode()


def test_an_unknown_placeholder_blocks_saving_until_confirmed(admin_client):
    data = form_data(template="<p>{{ issue.kee }} started</p>")
    response = admin_client.post(reverse("rule_create"), data)
    assert response.status_code == 200 and not NotificationRule.objects.filter(name="Started").exists()
    assert "Save with the unknown placeholders anyway" in response.content.decode()
    admin_client.post(reverse("rule_create"), {**data, "confirm_unknown": "on"})
    assert NotificationRule.objects.get(name="Started").template == "<p>{{ issue.kee }} started</p>"
