import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connector.jira_events import parse_jira_event
from deliveries.models import Delivery
from linking.models import ConversationLink
from notifications.models import NotificationRule
from notifications.planning import plan_event
from tests.factories import ConversationLinkFactory, NotificationRuleFactory, ProjectConnectionFactory
from tests.webhooks import jira_sample

pytestmark = pytest.mark.django_db


def transition_event(project):
    payload = jira_sample("webhook-issue-updated-started-working.json")
    payload["issue"]["fields"]["project"].update(id=project.project_id, key=project.project_key)
    (event,) = parse_jira_event(payload, site_url=project.site.base_url).events
    return event


def link_many(project, issue_id, count):
    ConversationLink.objects.bulk_create(  # one INSERT: some tests link thousands
        ConversationLinkFactory.build(
            site=project.site,
            issue_id=issue_id,
            issue_key="SUP-1",
            workspace=project.workspace,
            conversation_id=str(100000 + n),
            source="api",
        )
        for n in range(count)
    )


@pytest.fixture
def project():
    project = ProjectConnectionFactory()
    NotificationRule.objects.all().delete()  # the installation's default rules; each test sets its own
    NotificationRuleFactory(name="Any transition", trigger="issue_transitioned", actions=[{"type": "note"}])
    return project


def test_a_transition_plans_one_note_per_linked_conversation(project):
    event = transition_event(project)
    link_many(project, event.issue.id, 3)
    assert plan_event(site=project.site, event=event) == 3
    notes = Delivery.objects.filter(action="note", status="pending")
    assert notes.count() == 3
    assert "moved from <i>To Do</i> to <i>In Progress</i>" in notes.first().body


def test_planning_the_same_event_twice_adds_nothing(project):
    event = transition_event(project)
    link_many(project, event.issue.id, 5)
    plan_event(site=project.site, event=event)
    assert plan_event(site=project.site, event=event) == 0
    assert Delivery.objects.count() == 5


@pytest.mark.parametrize("links", [1, 100, 2000])
def test_planning_uses_the_same_number_of_queries_whatever_the_number_of_links(project, links):
    event = transition_event(project)
    link_many(project, event.issue.id, links)
    with CaptureQueriesContext(connection) as queries:
        assert plan_event(site=project.site, event=event) == links
    assert len(queries) == 4  # project, rules, link count, one INSERT … SELECT


def test_conversations_deleted_in_intercom_get_no_note(project):
    event = transition_event(project)
    link_many(project, event.issue.id, 2)
    ConversationLink.objects.filter(conversation_id="100000").update(health="missing")
    assert plan_event(site=project.site, event=event) == 1


def test_customer_replies_are_skipped_where_the_project_does_not_allow_them(project):
    NotificationRule.objects.update(actions=[{"type": "reply"}])
    event = transition_event(project)
    link_many(project, event.issue.id, 1)
    plan_event(site=project.site, event=event)
    delivery = Delivery.objects.get()
    assert delivery.status == "skipped"
    assert "not allowed" in delivery.last_error


def test_a_rule_with_several_actions_plans_one_row_per_action(project):
    NotificationRule.objects.update(actions=[{"type": "note"}, {"type": "reopen", "unassign": True}])
    event = transition_event(project)
    link_many(project, event.issue.id, 2)
    assert plan_event(site=project.site, event=event) == 4
    assert sorted(Delivery.objects.values_list("action", flat=True)) == ["note", "note", "reopen", "reopen"]


def test_rules_of_other_projects_do_not_fire(project):
    NotificationRule.objects.update(project=ProjectConnectionFactory(site=project.site))
    event = transition_event(project)
    link_many(project, event.issue.id, 1)
    assert plan_event(site=project.site, event=event) == 0


def test_a_broken_template_is_recorded_on_the_delivery_not_lost(project):
    NotificationRule.objects.update(template="{% for x in %}")
    event = transition_event(project)
    link_many(project, event.issue.id, 1)
    plan_event(site=project.site, event=event)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "template" in delivery.last_error


def test_a_new_installation_notes_transitions_and_public_comments_and_nothing_else():
    defaults = NotificationRule.objects.filter(project=None).order_by("position")
    assert [(r.trigger, r.action_types, r.comment_visibility) for r in defaults] == [
        ("issue_transitioned", ["note"], []),
        ("comment_created", ["note"], ["public"]),
    ]


def test_a_linked_note_rule_obeys_the_projects_reply_setting_too(jira_sim):
    from notifications.link_events import plan_link_event
    from tests.factories import JiraSiteFactory

    project = ProjectConnectionFactory(site=JiraSiteFactory(base_url=jira_sim.url), project_key="SUP")
    NotificationRule.objects.all().delete()
    NotificationRuleFactory(name="Linked", trigger="conversation_linked", actions=[{"type": "note"}, {"type": "reply"}])
    link = {"site_id": project.site_id, "issue_id": "10001", "issue_key": "SUP-1",
            "workspace_id": project.workspace_id, "conversation_id": "77", "link_id": 1}
    assert plan_link_event(kind="conversation_linked", link=link) == 2
    assert dict(Delivery.objects.values_list("action", "status")) == {"note": "pending", "reply": "skipped"}
