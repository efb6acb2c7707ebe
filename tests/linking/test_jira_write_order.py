"""The order and number of Jira writes while many are waiting: new links before refreshes, each issue's count in
every batch, no write done twice for one change, and the app user's calls in requests under the same pace."""

import pytest
from django.db import transaction

from connector.errors import VendorError
from linking import jira_pace, selectors, services, tasks
from linking.models import JiraWrite

pytestmark = pytest.mark.django_db

Kind = JiraWrite.Kind


def _remote_link_request(connected, issue: dict, conversation_id: str) -> JiraWrite:
    return services.jira_write_request(
        Kind.REMOTE_LINK_SYNC, site_id=connected.site.pk, issue_id=issue["id"], workspace_id=connected.workspace.pk,
        conversation_id=conversation_id,
    )


def test_asking_again_for_a_waiting_write_keeps_its_place_in_line(connected):
    issue = connected.issue()
    first, second = (_remote_link_request(connected, issue, c) for c in ("101", "102"))
    _remote_link_request(connected, issue, "101")  # its conversation was read meanwhile
    claimed = services.jira_writes_claim(connected.site.pk, limit=1)
    assert [w.pk for w in claimed] == [first.pk]
    assert [w.pk for w in services.jira_writes_claim(connected.site.pk, limit=1)] == [second.pk]


def test_every_batch_carries_the_issues_count_and_property(connected):
    issue = connected.issue()
    for conversation_id in ("101", "102", "103"):
        _remote_link_request(connected, issue, conversation_id)
    search = services.jira_write_request(Kind.ISSUE_SEARCH_SYNC, site_id=connected.site.pk, issue_id=issue["id"])
    batch = services.jira_writes_claim(connected.site.pk, limit=2)
    assert search.pk in [w.pk for w in batch]
    assert [w.kind for w in batch].count(Kind.REMOTE_LINK_SYNC) == 1


def test_a_change_asked_for_while_the_write_waited_in_its_batch_is_written_once(connected):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation(subject="Refund")["id"]
    connected.link(issue, conversation_id, refresh=False)
    _remote_link_request(connected, issue, conversation_id)
    (write,) = services.jira_writes_claim(connected.site.pk, limit=10)
    connected.refresh()  # the conversation is read before the write's turn…
    _remote_link_request(connected, issue, conversation_id)  # …and what it changed asks for the write again
    assert tasks._run_claimed(write) == "ok"
    assert not JiraWrite.objects.exists()  # nothing left to write again
    (remote_link,) = connected.sim_issue(issue["key"])["remotelinks"]
    assert "Refund" in remote_link["object"]["title"]


def test_a_change_asked_for_during_the_write_keeps_the_row(connected):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation()["id"]
    connected.link(issue, conversation_id, refresh=False)
    _remote_link_request(connected, issue, conversation_id)
    (write,) = services.jira_writes_claim(connected.site.pk, limit=10)
    client = jira_pace.client_for(connected.site)
    asked = client.before_request

    def ask_again_then_call():
        _remote_link_request(connected, issue, conversation_id)
        asked()

    client.before_request = ask_again_then_call
    try:
        tasks._run_claimed(write)
    finally:
        client.before_request = asked
    assert JiraWrite.objects.get(pk=write.pk).status == JiraWrite.Status.PENDING  # the next drain writes it again


def test_a_conversation_change_asks_for_its_remote_links_in_the_same_transaction(connected):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation()["id"]
    connected.link(issue, conversation_id, refresh=False)
    with transaction.atomic():
        assert services.remote_links_refresh(workspace_id=connected.workspace.pk, conversation_id=conversation_id) == 1
        (write,) = JiraWrite.objects.all()
        assert (write.kind, write.issue_id, write.conversation_id) == (Kind.REMOTE_LINK_SYNC, issue["id"],
                                                                        conversation_id)
        transaction.set_rollback(True)
    assert not JiraWrite.objects.exists()  # rolled back with the change that asked for it


def test_a_users_issue_lookup_waits_for_the_app_users_pace_instead_of_being_refused(connected):
    issue = connected.issue()
    connected.jira.rate_limit = 1  # one call per second for the app user
    jira_pace.client_for(connected.site).myself()  # the drain's call: this second's only one
    resolved = selectors.issue_resolve(issue["key"])
    assert resolved.target.issue_id == issue["id"]
    assert connected.jira.throttled == 0


def test_a_changed_app_user_token_is_used_at_once(connected):
    assert jira_pace.client_for(connected.site).myself()["accountId"]
    connected.site.api_token = "revoked-token"
    with pytest.raises(VendorError) as refused:
        jira_pace.client_for(connected.site).myself()
    assert refused.value.status == 401
