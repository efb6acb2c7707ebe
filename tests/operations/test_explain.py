"""Explain an issue: which rules matched or not and why, and what became of each note."""

import pytest
from django.urls import reverse

from deliveries.models import Delivery
from operations.explain import explain_issue

pytestmark = pytest.mark.django_db


def verdicts(explanation):
    (event,) = explanation.events
    return {v.rule.name: v for v in event.verdicts}


def test_a_matching_rule_is_explained_with_the_notes_it_sent(sup):
    sup.rule(name="Work started", to_status="In Progress")
    sup.transition()
    sup.send()
    verdict = verdicts(explain_issue("sup-7"))["Work started"]
    assert verdict.matched
    assert sorted(d.status for d in verdict.deliveries) == ["sent", "sent"]


def test_a_rule_that_did_not_match_says_which_condition_failed(sup):
    sup.rule(name="Done", to_status="Done")
    sup.rule(name="Stories only", to_status="In Progress", issue_types=["Story"])
    sup.rule(name="Off", enabled=False)
    sup.transition()
    found = verdicts(explain_issue("SUP-7"))
    assert found["Done"].reason == "To status must be “Done”; it became In Progress."
    assert found["Stories only"].reason == "Issue type must be one of Story; it is Bug."
    assert found["Off"].reason == "The rule is turned off."
    assert not any(v.matched for v in found.values())


def test_stop_after_and_other_projects_are_named(sup):
    from tests import factories

    other = factories.ProjectConnectionFactory(site=sup.site, project_id="20001", project_key="OPS")
    sup.rule(name="First", position=1, stop_after=True)
    sup.rule(name="Second", position=2)
    sup.rule(name="Ops only", position=3, project=other)
    sup.transition()
    found = verdicts(explain_issue("SUP-7"))
    assert found["First"].matched
    assert "“First” matched first and stops later rules" in found["Second"].reason
    assert found["Ops only"].reason == "The rule is for project OPS, not this issue's project."


def test_held_notes_say_why_they_are_held(sup):
    sup.rule(name="Work started", to_status="In Progress")
    sup.transition()
    sup.revoke_intercom()
    sup.send()
    assert Delivery.objects.filter(status="held").exists()
    response = sup_client_page(sup, "SUP-7")
    assert "held: Intercom refused the app user" in response


def test_the_same_change_delivered_again_says_it_was_planned_before(sup):
    """A replayed change (same Jira change id under a new delivery id) plans nothing; the explainer says so."""
    sup.rule(name="Work started", to_status="In Progress")
    sup.transition("first")
    sup.transition("replayed")
    explanation = explain_issue("SUP-7")
    newest = {v.rule.name: v for v in explanation.events[0].verdicts}["Work started"]
    assert newest.matched and not newest.deliveries
    assert "was already planned" in newest.reason


def test_an_issue_nobody_knows_says_what_to_check(db):
    assert "No connected project and no link knows NOPE-1" in explain_issue("NOPE-1").problem


def test_the_event_page_shows_what_the_event_caused(sup, admin_client):
    sup.rule(name="Work started", to_status="In Progress")
    event = sup.transition()
    page = admin_client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert page.count('data-testid="caused-delivery"') == 2 and "Work started" in page
    assert "/explain/?issue=SUP-7" in page


def test_an_event_that_caused_nothing_says_so(sup, admin_client):
    sup.rule(name="Done", to_status="Done")
    event = sup.transition()
    page = admin_client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert 'data-testid="caused-nothing"' in page


def test_explaining_needs_the_operations_permission(client, db):
    from tests import factories

    client.force_login(factories.UserFactory(role="Viewer"))
    assert client.get(reverse("explain"), {"issue": "SUP-7"}).status_code == 403


def sup_client_page(sup, key):
    from django.test import Client

    from tests import factories

    client = Client()
    client.force_login(factories.UserFactory(role="Admin"))
    response = client.get(reverse("explain"), {"issue": key})
    assert response.status_code == 200
    return response.content.decode()
