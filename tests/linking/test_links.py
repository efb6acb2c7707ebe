"""Link and unlink: idempotent, with the remote link, count field and issue property kept right in Jira."""

import pytest
from django.db import transaction

from linking import services, signals, snapshots, tasks
from linking.jira_sync import PROPERTY_KEY
from linking.models import ConversationLink, LinkChange
from linking.services import IssueTarget, LinkError
from sandbox.jira import COUNT_FIELD
from tests import factories

pytestmark = pytest.mark.django_db


def _target(connected, issue) -> IssueTarget:
    return IssueTarget(site=connected.site, issue_id=issue["id"], issue_key=issue["key"], project_key="SUP")


def _link(connected, issue, conversation_id, **options):
    with transaction.atomic():
        return services.link_create(
            target=_target(connected, issue),
            workspace=connected.workspace,
            conversation_id=conversation_id,
            source=options.pop("source", "ui"),
            **options,
        )


@pytest.fixture
def count_field(connected):
    return factories.SiteSearchSettingsFactory(
        site=connected.site, count_field_id=COUNT_FIELD, count_field_name="Intercom conversations"
    )


def test_linking_twice_makes_one_link_and_one_remote_link(connected, eager, count_field):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(
        subject="Refund not received", contact=connected.intercom.add_contact(name="Grace Hopper")
    )
    with eager(execute=True):
        first, created = _link(connected, issue, conversation["id"])
    with eager(execute=True):
        again, created_again = _link(connected, issue, conversation["id"])
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert ConversationLink.objects.count() == 1
    stored = connected.sim_issue(issue["key"])
    assert len(stored["remotelinks"]) == 1
    remote = stored["remotelinks"][0]
    assert remote["globalId"] == first.global_id
    assert "Grace Hopper" in remote["object"]["title"]
    assert "Refund not received" in remote["object"]["title"]
    assert remote["object"]["status"]["resolved"] is False
    assert conversation["id"] in remote["object"]["url"]
    assert stored["fields"][COUNT_FIELD] == 1
    assert stored["properties"][PROPERTY_KEY]["conversationIds"] == [conversation["id"]]


def test_syncing_a_remote_link_again_updates_it_instead_of_duplicating(connected, eager):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Login loop")
    with eager(execute=True):
        link, _ = _link(connected, issue, conversation["id"])
    connected.intercom.conversations[conversation["id"]]["state"] = "closed"
    # what the background refresh does when the conversation is due: read it and store the snapshot
    snapshots.snapshot_store(connected.workspace, snapshots.conversation_fetch(connected.workspace, conversation["id"]))
    tasks.remote_link_sync(link.pk)
    links = connected.sim_issue(issue["key"])["remotelinks"]
    assert len(links) == 1
    assert links[0]["object"]["status"]["resolved"] is True


def test_the_count_and_property_follow_every_link_and_unlink(connected, eager, count_field):
    issue = connected.issue()
    ids = connected.intercom.add_conversations(3)
    with eager(execute=True):
        links = [_link(connected, issue, cid)[0] for cid in ids]
    assert connected.sim_issue(issue["key"])["fields"][COUNT_FIELD] == 3
    with eager(execute=True), transaction.atomic():
        services.link_delete(link=links[1])
    stored = connected.sim_issue(issue["key"])
    assert stored["fields"][COUNT_FIELD] == 2
    assert stored["properties"][PROPERTY_KEY]["conversationIds"] == [ids[0], ids[2]]
    assert [link["globalId"] for link in stored["remotelinks"]] == [links[0].global_id, links[2].global_id]


def test_unlinking_twice_is_harmless(connected, eager):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation()["id"]
    with eager(execute=True):
        link, _ = _link(connected, issue, conversation_id)
    with eager(execute=True), transaction.atomic():
        assert services.link_delete(link=link) is True
    with eager(execute=True), transaction.atomic():
        assert services.link_delete(link=link) is False
    assert connected.sim_issue(issue["key"])["remotelinks"] == []
    assert list(LinkChange.objects.values_list("kind", flat=True)) == ["added", "removed"]


def test_a_removal_task_that_runs_after_relinking_keeps_the_new_remote_link(connected, eager):
    issue = connected.issue()
    conversation_id = connected.intercom.add_conversation()["id"]
    with eager(execute=True):
        link, _ = _link(connected, issue, conversation_id)
    with eager(execute=False), transaction.atomic():  # the removal task is lost in the queue for now
        services.link_delete(link=link)
    with eager(execute=True):
        _link(connected, issue, conversation_id)
    result = tasks.remote_link_remove(connected.site.pk, issue["id"], connected.workspace.pk, conversation_id)
    assert result == "relinked"
    assert len(connected.sim_issue(issue["key"])["remotelinks"]) == 1


def test_a_url_of_another_workspace_is_refused_with_a_clear_message(connected):
    with pytest.raises(LinkError) as refused:
        services.conversation_ref_for_workspace(
            "https://app.intercom.com/a/inbox/otherapp/inbox/conversation/5", connected.workspace
        )
    assert "otherapp" in str(refused.value)
    assert connected.workspace.name in str(refused.value)


def test_a_url_of_the_projects_workspace_and_a_bare_id_are_accepted(connected):
    url = "https://app.intercom.com/a/inbox/sandbox1/inbox/conversation/5#part_id=comment-1"
    assert services.conversation_ref_for_workspace(url, connected.workspace).conversation_id == "5"
    assert services.conversation_ref_for_workspace("6", connected.workspace).conversation_id == "6"


def test_signals_are_sent_after_commit_with_the_link_and_the_user(connected, admin_user, eager):
    received = []

    def record(name):
        return lambda sender, link, user, **kw: received.append((name, sender, link.conversation_id, user))

    on_created, on_removed = record("created"), record("removed")
    signals.link_created.connect(on_created)
    signals.link_removed.connect(on_removed)
    try:
        issue = connected.issue()
        with eager(execute=True):
            link, _ = _link(connected, issue, "77", user=admin_user)
            assert received == []  # nothing until the transaction commits
        with eager(execute=True), transaction.atomic():
            services.link_delete(link=link, user=admin_user)
    finally:
        signals.link_created.disconnect(on_created)
        signals.link_removed.disconnect(on_removed)
    assert received == [
        ("created", ConversationLink, "77", admin_user),
        ("removed", ConversationLink, "77", admin_user),
    ]
