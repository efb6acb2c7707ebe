"""Bulk linking and the Jira side behind it: one call links many conversations, partial errors per item, the
Jira writes coalesce per issue and keep to Jira's pace and its property size limit (against the simulators)."""

import json
import time

import pytest
from django.db import transaction
from django.test import Client

from deliveries.models import Delivery
from linking import jira_sync, services, tasks
from linking.jira_sync import PROPERTY_KEY, PROPERTY_MAX_BYTES
from linking.models import ConversationLink, JiraWrite
from linking.services import IssueTarget
from notifications.models import NotificationRule
from sandbox.jira import COUNT_FIELD
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _only_linking(no_rules):
    pass


@pytest.fixture
def count_field(connected):
    return factories.SiteSearchSettingsFactory(site=connected.site, count_field_id=COUNT_FIELD)


def jira_calls(sim) -> int:
    with sim.lock:
        return sum(sim.calls.values())


def bulk(client, issue, conversations, **extra):
    body = {"issue": issue["key"], "conversations": conversations, **extra}
    return client.post("/api/links/bulk/", data=json.dumps(body), content_type="application/json")


def test_one_call_links_many_and_reports_each_item(connected, admin_client, eager, count_field):
    issue = connected.issue()
    ids = connected.intercom.add_conversations(20)
    connected.link(issue, ids[0], refresh=False)  # already linked before
    items = [*ids, ids[3], "https://app.intercom.com/a/inbox/elsewhere/inbox/conversation/9", "not a conversation"]
    with eager(execute=True):
        response = bulk(admin_client, issue, items)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["linked"], body["already_linked"], body["failed"]) == (19, 2, 2)
    statuses = [row["status"] for row in body["results"]]
    assert statuses[:21] == ["already_linked"] + ["linked"] * 19 + ["already_linked"]
    assert statuses[21:] == ["error", "error"]
    assert "elsewhere" in body["results"][21]["error"]
    assert body["results"][22]["error"]
    assert ConversationLink.objects.filter(issue_id=issue["id"]).count() == 20
    # the Jira side, written by the drain (inline here): a remote link per new conversation, count and property
    stored = connected.sim_issue(issue["key"])
    # 19 new, and the one linked before: its snapshot was read meanwhile, which rewrites its remote link
    assert len(stored["remotelinks"]) == 20
    assert stored["fields"][COUNT_FIELD] == 20
    assert stored["properties"][PROPERTY_KEY]["count"] == 20
    assert body["progress_url"].startswith(f"/api/issues/{issue['key']}/jira-progress/")
    progress = admin_client.get(body["progress_url"]).json()
    assert progress["done"] is True and progress["links"] == 20 and progress["failed"] == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"conversations": [str(n) for n in range(1001)]},
        {"conversations": []},
        {"conversations": "12"},
        {"conversations": [{"id": 1}]},
        {},
    ],
    ids=["too-many", "empty", "not-a-list", "not-strings", "missing"],
)
def test_bad_bulk_requests_get_a_clear_400(connected, admin_client, payload):
    issue = connected.issue()
    body = {"issue": issue["key"], **payload}
    response = admin_client.post("/api/links/bulk/", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "conversations" in response.json()
    assert not ConversationLink.objects.exists()


def test_bulk_linking_follows_permissions_and_the_project_toggle(connected, admin_client):
    issue = connected.issue()
    viewer = Client()
    viewer.force_login(factories.UserFactory(role="Viewer"))
    assert bulk(viewer, issue, ["1"]).status_code == 403
    connected.project.linking_enabled = False
    connected.project.save()
    response = bulk(admin_client, issue, ["1"])
    assert response.status_code == 409 and "turned off" in response.json()["detail"]


def test_the_paste_many_form_links_and_reports_the_lines_it_could_not(
    connected, admin_client, django_capture_on_commit_callbacks
):
    issue = connected.issue()
    pasted = "101\nhttps://app.intercom.com/a/inbox/sandbox1/inbox/conversation/102\n\n103, bogus-line\n"
    with django_capture_on_commit_callbacks(execute=True):  # the Jira writes are recorded; no worker runs them
        admin_client.post(f"/issues/{issue['key']}/link-many", {"conversations": pasted})
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert "Linked 3 conversations" in page
    assert "Line 4 (bogus-line)" in page
    assert set(ConversationLink.objects.values_list("conversation_id", flat=True)) == {"101", "102", "103"}
    assert 'data-testid="jira-progress"' in page and "0 of 3 remote links written" in page


def test_writes_to_one_issue_coalesce_so_the_jira_work_is_linear(
    connected, count_field, django_capture_on_commit_callbacks
):
    issue = connected.issue()
    target = IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP")
    # fifty links one at a time; their Jira writes are recorded, and no worker runs them yet
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(50):
            services.link_create(
                target=target, workspace=connected.workspace, conversation_id=str(700 + n), source="api"
            )
    writes = JiraWrite.objects.filter(issue_id=issue["id"])
    assert writes.filter(kind=JiraWrite.Kind.REMOTE_LINK_SYNC).count() == 50
    assert writes.filter(kind=JiraWrite.Kind.ISSUE_SEARCH_SYNC).count() == 1  # one pending write per issue
    before = jira_calls(connected.jira)
    tasks.jira_writes_drain.apply(args=[connected.site.pk])
    assert jira_calls(connected.jira) - before == 50 + 2  # remote links, then the property and count once
    assert connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 50
    assert not JiraWrite.objects.exists()


def test_the_property_stays_within_jiras_limit_at_any_number_of_links(connected, count_field):
    issue = connected.issue()
    ConversationLink.objects.bulk_create(
        factories.ConversationLinkFactory.build(
            site=connected.site, workspace=connected.workspace, issue_id=issue["id"], issue_key=issue["key"],
            conversation_id=str(10_000_000 + n),
        )
        for n in range(2000)
    )
    count, value = jira_sync.issue_search_values(connected.site, issue["id"])
    assert count == 2000 and value["count"] == 2000 and value["truncated"] is True
    assert len(json.dumps(value).encode()) <= PROPERTY_MAX_BYTES
    assert value["conversationIds"][-1] == str(10_000_000 + 1999)  # the most recent are kept
    jira_sync.issue_search_write(tasks.jira_pace.client_for(connected.site), connected.site, issue["id"])
    stored = connected.sim_issue(issue["key"])
    assert stored["fields"][COUNT_FIELD] == 2000
    assert stored["properties"][PROPERTY_KEY]["count"] == 2000


def test_the_drain_waits_for_jiras_retry_after_and_finishes(connected):
    issue = connected.issue()
    for n in range(5):
        connected.link(issue, str(900 + n), refresh=False)
        services.jira_write_request(
            JiraWrite.Kind.REMOTE_LINK_SYNC, site_id=connected.site.pk, issue_id=issue["id"],
            workspace_id=connected.workspace.pk, conversation_id=str(900 + n),
        )
    connected.jira.rate_limit = 2  # per second; the pace is learnt from X-RateLimit-Limit
    now, account = int(time.time()), connected.jira.app_user["accountId"]
    with connected.jira.lock:  # others used this second's budget: the first call is answered 429, Retry-After: 1
        connected.jira.calls[(account, now)] = connected.jira.calls[(account, now + 1)] = 2
    tasks.jira_writes_drain.apply(args=[connected.site.pk])
    assert connected.jira.throttled >= 1
    assert len(connected.sim_issue(issue["key"])["remotelinks"]) == 5  # waited, then written: nothing given up
    assert not JiraWrite.objects.exists()
    with connected.jira.lock:
        ours = [n for (who, second), n in connected.jira.calls.items() if second > now + 1]
    assert max(ours) <= 2  # once learnt, the pace holds


def test_a_conversation_linked_rule_plans_a_note_per_bulk_linked_conversation(
    connected, admin_client, eager, enqueued
):
    NotificationRule.objects.create(
        name="Linked", trigger="conversation_linked", enabled=True, position=1, actions=[{"type": "note"}]
    )
    issue = connected.issue()
    ids = connected.intercom.add_conversations(3)
    with eager(execute=True):
        assert bulk(admin_client, issue, ids).status_code == 201
    assert sorted(Delivery.objects.values_list("conversation_id", flat=True)) == sorted(ids)
