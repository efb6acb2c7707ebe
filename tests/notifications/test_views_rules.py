"""The rules pages: list and order, the editor's validation, live preview, dry run, test notes, the REST API."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from deliveries import engine
from deliveries.models import Delivery
from notifications.models import NotificationRule
from tests import factories
from tests.conftest import workspace_for
from tests.factories import NotificationRuleFactory

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jira_webhooks"


@pytest.fixture(autouse=True)
def no_default_rules():
    NotificationRule.objects.all().delete()  # the migration's default rules would join every list


def user_with(*codes):
    user = factories.UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts", codename__in=codes))
    return user


def editor_data(**overrides) -> dict:
    data = {
        "name": "Tell customers when work starts", "project": "", "enabled": "on", "trigger": "issue_transitioned",
        "from_status": "", "to_status": "In Progress", "fields": "", "comment_visibility": ["public"],
        "issue_types": "", "priorities": "", "labels": "", "coalesce_seconds": "0", "template": "",
        "act_note": "on", "assignee_type": "admin",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def sup_event():
    """The stored Jira webhook of SUP-7 (assigned and moved To Do → In Progress), its project and two links."""
    payload = json.loads((FIXTURES / "issue_updated__assignee_and_status.json").read_text())
    project = factories.ProjectConnectionFactory(project_id="10010", project_key="SUP")
    event = factories.WebhookEventFactory(
        site=project.site, delivery_id="d-1", event_type="jira:issue_updated", issue_id="10042", issue_key="SUP-7",
        payload=payload, status="processed",
    )
    for cid in ("101", "102"):
        factories.ConversationLinkFactory(
            site=project.site, issue_id="10042", issue_key="SUP-7", workspace=project.workspace, conversation_id=cid,
            source="ui",
        )
    return event, project


# --- list, order, enable, delete -------------------------------------------------------------------------


def test_the_rules_page_lists_rules_per_project_and_for_all_projects(admin_client):
    project = factories.ProjectConnectionFactory(project_key="SUP")
    NotificationRuleFactory(name="Global note")
    NotificationRuleFactory(name="SUP only", project=project)
    page = admin_client.get(reverse("rules")).content.decode()
    assert "All projects" in page and "Project SUP" in page
    assert page.index("Global note") < page.index("SUP only")


def test_moving_a_rule_up_swaps_it_with_the_one_above(admin_client):
    first, second, third = (NotificationRuleFactory(name=name, position=n) for n, name in enumerate("abc"))
    admin_client.post(reverse("rule_change", args=[third.pk, "up"]))
    assert list(NotificationRule.objects.order_by("position").values_list("name", flat=True)) == ["a", "c", "b"]
    admin_client.post(reverse("rule_change", args=[first.pk, "up"]))  # already first: nothing moves
    assert list(NotificationRule.objects.order_by("position").values_list("name", flat=True)) == ["a", "c", "b"]
    assert second.pk


def test_reordering_stays_inside_the_rules_own_list(admin_client):
    project = factories.ProjectConnectionFactory()
    NotificationRuleFactory(name="global", position=1)
    NotificationRuleFactory(name="p1", project=project, position=4)
    mine = NotificationRuleFactory(name="p2", project=project, position=7)
    admin_client.post(reverse("rule_change", args=[mine.pk, "up"]))
    positions = dict(NotificationRule.objects.values_list("name", "position"))
    assert positions == {"global": 1, "p2": 0, "p1": 1}


def test_rules_can_be_disabled_enabled_marked_stop_after_and_deleted(admin_client):
    r = NotificationRuleFactory()
    admin_client.post(reverse("rule_change", args=[r.pk, "disable"]))
    assert not NotificationRule.objects.get(pk=r.pk).enabled
    admin_client.post(reverse("rule_change", args=[r.pk, "enable"]))
    admin_client.post(reverse("rule_change", args=[r.pk, "stop"]))
    r.refresh_from_db()
    assert r.enabled and r.stop_after
    admin_client.post(reverse("rule_change", args=[r.pk, "delete"]))
    assert not NotificationRule.objects.filter(pk=r.pk).exists()


def test_rule_pages_are_refused_without_the_manage_rules_permission(client):
    client.force_login(user_with("view_operations"))
    r = NotificationRuleFactory()
    for response in (
        client.get(reverse("rules")),
        client.get(reverse("rule_edit", args=[r.pk])),
        client.post(reverse("rule_change", args=[r.pk, "delete"])),
        client.post(reverse("rule_preview"), {"template": "x"}),
        client.get(reverse("rule_dry_run"), {"key": "SUP-7"}),
    ):
        assert response.status_code == 403
    assert NotificationRule.objects.filter(pk=r.pk).exists()


# --- the editor ------------------------------------------------------------------------------------------


def test_a_new_rule_is_saved_with_its_actions_and_options(admin_client):
    response = admin_client.post(reverse("rule_create"), editor_data(
        act_reopen="on", reopen_unassign="on", act_snooze="on", snooze_minutes="90", act_assign="on",
        assignee_type="team", assignee_id="77", act_tag="on", tag_id="5", labels="vip, customer",
    ))
    saved = NotificationRule.objects.get()
    assert response.status_code == 302 and response.url == reverse("rule_edit", args=[saved.pk])
    assert saved.actions == [
        {"type": "note"}, {"type": "reopen", "unassign": True}, {"type": "snooze", "seconds": 5400},
        {"type": "assign", "assignee_type": "team", "assignee_id": "77"}, {"type": "tag", "tag_id": "5"},
    ]
    assert saved.to_status == "In Progress" and saved.labels == ["vip", "customer"]
    assert saved.comment_visibility == ["public"] and saved.coalesce_seconds == 0


def test_snoozing_until_a_date_stores_a_datetime_the_engine_understands(admin_client):
    admin_client.post(reverse("rule_create"), editor_data(act_snooze="on", snooze_until="2030-01-02T09:30"))
    (_, snooze) = NotificationRule.objects.get().actions
    assert snooze == {"type": "snooze", "until": "2030-01-02T09:30:00+00:00"}
    assert engine._snooze_until(snooze) == 1893576600


def test_a_new_rule_goes_to_the_end_of_its_list(admin_client):
    NotificationRuleFactory(name="first", position=3)
    admin_client.post(reverse("rule_create"), editor_data(name="second"))
    assert NotificationRule.objects.get(name="second").position == 4


def test_editing_shows_the_stored_actions_and_keeps_them_when_saved_unchanged(admin_client):
    r = NotificationRuleFactory(actions=[{"type": "tag", "tag_id": "9"}, {"type": "close"}])
    page = admin_client.get(reverse("rule_edit", args=[r.pk])).content.decode()
    assert 'name="tag_id" value="9"' in page
    admin_client.post(reverse("rule_edit", args=[r.pk]), editor_data(name=r.name, act_note=None, act_tag="on",
                                                                      tag_id="9", act_close="on"))
    r.refresh_from_db()
    assert r.actions == [{"type": "close"}, {"type": "tag", "tag_id": "9"}]


def test_a_template_with_a_blocking_problem_is_refused_and_the_problem_shown(admin_client):
    response = admin_client.post(reverse("rule_create"), editor_data(template="{{ issue.key }\n{% set x = 1 %}"))
    assert response.status_code == 200
    assert not NotificationRule.objects.exists()
    assert "not saved" in response.content.decode()
    assert response.context["form"].errors["template"]


def test_an_unknown_placeholder_is_refused_unless_confirmed(admin_client):
    response = admin_client.post(reverse("rule_create"), editor_data(template="<p>{{ issue.sumary }}</p>"))
    assert response.status_code == 200 and "issue.summary" in response.content.decode()  # the suggestion
    response = admin_client.post(reverse("rule_create"),
                                 editor_data(template="<p>{{ issue.sumary }}</p>", confirm_unknown="on"))
    assert response.status_code == 302


def test_a_reply_is_refused_for_a_project_that_does_not_allow_customer_replies(admin_client):
    project = factories.ProjectConnectionFactory(customer_replies_allowed=False)
    response = admin_client.post(reverse("rule_create"), editor_data(project=project.pk, act_reply="on"))
    assert response.status_code == 200 and not NotificationRule.objects.exists()
    assert "does not allow customer-visible replies" in response.content.decode()


def test_a_reply_is_accepted_where_the_project_allows_it(admin_client):
    project = factories.ProjectConnectionFactory(customer_replies_allowed=True)
    admin_client.post(reverse("rule_create"), editor_data(project=project.pk, act_reply="on", act_note=None))
    assert NotificationRule.objects.get().actions == [{"type": "reply"}]


def test_internal_comments_only_by_explicit_choice_and_with_a_warning(admin_client):
    response = admin_client.post(
        reverse("rule_create"),
        editor_data(trigger="comment_created", comment_visibility=["public", "internal"]),
        follow=True,
    )
    assert NotificationRule.objects.get().comment_visibility == ["public", "internal"]
    assert "Internal or restricted Jira comments will be copied" in response.content.decode()


def test_a_rule_needs_at_least_one_action(admin_client):
    response = admin_client.post(reverse("rule_create"), editor_data(act_note=None))
    assert response.status_code == 200 and not NotificationRule.objects.exists()
    assert "Choose at least one action" in response.content.decode()


def test_the_preview_button_renders_without_saving(admin_client):
    data = editor_data(template="<p>Now {{ issue.key }}</p>", preview="1")
    response = admin_client.post(reverse("rule_create"), data)
    assert response.status_code == 200 and not NotificationRule.objects.exists()
    assert response.context["preview"]["html"] == "<p>Now ABC-1</p>"


# --- live preview ----------------------------------------------------------------------------------------


def test_the_live_preview_renders_against_sample_values(admin_client):
    template = "<b>{{ issue.key }}</b> {{ issue.status_to }}"
    data = admin_client.post(reverse("rule_preview"), {"template": template, "trigger": "issue_transitioned"}).json()
    assert data["html"] == "<b>ABC-1</b> In Progress" and data["problems"] == []
    assert "Sample" in data["source"]


def test_the_live_preview_reports_problems_with_their_line(admin_client):
    data = admin_client.post(reverse("rule_preview"), {"template": "ok\n{{ issue.key.__class__ }}"}).json()
    assert data["html"] == "" and data["problems"][0]["blocking"] and data["problems"][0]["line"] == 2


def test_an_empty_template_previews_the_default_for_the_trigger(admin_client):
    data = admin_client.post(reverse("rule_preview"), {"template": "", "trigger": "comment_created"}).json()
    assert data["uses_default"] and "commented on" in data["html"]


def test_the_preview_uses_the_last_stored_event_of_an_issue(admin_client, sup_event):
    data = admin_client.post(reverse("rule_preview"), {
        "template": "{{ issue.key }}: {{ issue.status_from }} → {{ issue.status_to }} ({{ links.count }})",
        "trigger": "issue_transitioned", "issue": "sup-7",
    }).json()
    assert data["html"] == "SUP-7: To Do → In Progress (2)"
    assert "last webhook event of SUP-7" in data["source"]


def test_the_preview_fetches_an_issue_without_events_from_jira(admin_client, jira_sim):
    from sandbox.jira import APP_USER_TOKEN

    site = factories.JiraSiteFactory(base_url=jira_sim.url, account_email=jira_sim.app_user["emailAddress"],
                                     api_token=APP_USER_TOKEN)
    sup = next(p for p in jira_sim.projects.values() if p["key"] == "SUP")
    factories.ProjectConnectionFactory(site=site, project_id=sup["id"], project_key="SUP")
    issue = jira_sim.create_issue("SUP", "Refunds <fail> twice", priority="High")
    data = admin_client.post(reverse("rule_preview"), {
        "template": "{{ issue.key }} {{ issue.summary }} {{ issue.priority }}", "trigger": "fields_changed",
        "issue": issue["key"],
    }).json()
    assert data["html"] == f"{issue['key']} Refunds &lt;fail&gt; twice High"
    assert "as Jira has it now" in data["source"]


def test_the_preview_says_when_an_issue_is_unknown(admin_client):
    data = admin_client.post(reverse("rule_preview"), {"template": "x", "issue": "NOPE-1"}).json()
    assert data["html"] == "" and "NOPE-1" in data["error"]


# --- dry run ---------------------------------------------------------------------------------------------


def test_the_dry_run_lists_what_would_fire_without_writing_anything(admin_client, sup_event):
    _, project = sup_event
    NotificationRuleFactory(
        name="To In Progress", to_status="In Progress", template="<p>{{ issue.key }} is being worked on</p>"
    )
    NotificationRuleFactory(name="To Done", to_status="category:done")
    NotificationRuleFactory(
        name="Assignee", trigger="assignee_changed", actions=[{"type": "tag", "tag_id": "3"}], project=project
    )
    # the project does not allow replies
    NotificationRuleFactory(name="Replies", actions=[{"type": "reply"}], project=project)
    response = admin_client.get(reverse("rule_dry_run"), {"key": "sup-7"})
    result = response.context["result"]
    fired = {e.kind: [f.rule.name for f in e.fired] for e in result.events}
    # Project rules and rules for all projects are tried together, by position and then age.
    assert fired == {"assignee_changed": ["Assignee"], "issue_transitioned": ["To In Progress", "Replies"]}
    assert result.links == 2
    page = response.content.decode()
    assert "<p>SUP-7 is being worked on</p>" in page
    assert "it would be skipped" in page
    assert Delivery.objects.count() == 0


def test_the_dry_run_honours_stop_after(admin_client, sup_event):
    NotificationRuleFactory(name="First", to_status="In Progress", stop_after=True, position=0)
    NotificationRuleFactory(name="Second", position=1)
    result = admin_client.get(reverse("rule_dry_run"), {"key": "SUP-7"}).context["result"]
    transition = next(e for e in result.events if e.kind == "issue_transitioned")
    assert [f.rule.name for f in transition.fired] == ["First"] and transition.stopped_after.name == "First"


def test_the_dry_run_says_when_no_event_was_received(admin_client):
    response = admin_client.get(reverse("rule_dry_run"), {"key": "SUP-404"})
    assert "No Jira webhook event has been received for SUP-404" in response.content.decode()


def test_the_dry_run_refuses_something_that_is_not_an_issue_key(admin_client):
    response = admin_client.get(reverse("rule_dry_run"), {"key": "<script>"})
    assert response.context["result"] is None and "issue key like SUP-123" in response.content.decode()


# --- test note -------------------------------------------------------------------------------------------


def test_a_test_note_reaches_the_conversation_through_the_delivery_path(admin_client, intercom_sim, redis_client):
    workspace = workspace_for(intercom_sim)
    (conversation,) = intercom_sim.add_conversations(1)
    r = NotificationRuleFactory(template="<p>Test for {{ issue.key }}</p>")
    response = admin_client.post(
        reverse("rule_test_note", args=[r.pk]), {"workspace": workspace.pk, "conversation_id": conversation}
    )
    delivery = Delivery.objects.get()
    assert response.url == reverse("delivery_detail", args=[delivery.pk])
    assert (delivery.source, delivery.rule, delivery.body) == ("test", r, "<p>Test for ABC-1</p>")
    engine.pump(workspace.pk)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    (entry,) = intercom_sim.writes_for(conversation, "note")
    assert "Test for ABC-1" in entry.body
    page = admin_client.get(response.url).content.decode()
    assert "Sent" in page and "Test note" in page


def test_a_test_note_needs_a_numeric_conversation_id(admin_client):
    workspace = factories.IntercomWorkspaceFactory()
    r = NotificationRuleFactory()
    response = admin_client.post(reverse("rule_test_note", args=[r.pk]),
                                 {"workspace": workspace.pk, "conversation_id": "abc"}, follow=True)
    assert Delivery.objects.count() == 0
    assert "conversation id is a number" in response.content.decode()


# --- REST API --------------------------------------------------------------------------------------------


def test_the_rules_api_creates_lists_and_validates(admin_client):
    created = admin_client.post("/api/rules/", {
        "name": "API rule", "trigger": "comment_created", "actions": [{"type": "note"}],
        "template": "<p>{{ comment.body_html }}</p>",
    }, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["comment_visibility"] == ["public"]
    bad = admin_client.post("/api/rules/", {
        "name": "bad", "trigger": "comment_created", "actions": [{"type": "snooze"}], "template": "{% set x = 1 %}",
    }, content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()) == {"actions", "template"}
    assert [r["name"] for r in admin_client.get("/api/rules/").json()["results"]] == ["API rule"]


def test_the_rules_api_refuses_replies_where_the_project_does_not_allow_them(admin_client):
    project = factories.ProjectConnectionFactory(customer_replies_allowed=False)
    response = admin_client.post("/api/rules/", {
        "name": "r", "trigger": "issue_transitioned", "project": project.pk, "actions": [{"type": "reply"}],
    }, content_type="application/json")
    assert response.status_code == 400 and "replies" in response.content.decode()


def test_the_rules_api_needs_manage_rules(client):
    client.force_login(user_with("view_operations"))
    assert client.get("/api/rules/").status_code == 403
