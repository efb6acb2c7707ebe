"""Conversation snapshots: the issue view reads stored cards only, webhooks and the background refresh keep them
current, and the refresh reads with rate-limit budget notes do not need (against the Intercom simulator)."""

import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from linking import selectors, snapshots, tasks
from linking.models import ConversationSnapshot
from pipeline import process
from tests import factories
from tests.webhooks import post_intercom

pytestmark = pytest.mark.django_db


def intercom_calls(sim) -> int:
    return sum(sim.calls_per_window().values())


@pytest.fixture(autouse=True)
def _only_linking(no_rules):
    pass


def test_the_issue_view_never_calls_intercom_and_says_how_fresh_each_card_is(connected, admin_client):
    issue = connected.issue()
    read = connected.intercom.add_conversation(subject="Refund twice")
    connected.link(issue, read["id"])
    unread = connected.intercom.add_conversation(subject="Not read yet")
    connected.link(issue, unread["id"], refresh=False)
    before = intercom_calls(connected.intercom)
    page = admin_client.get(f"/issues/{issue['key']}/").content.decode()
    assert intercom_calls(connected.intercom) == before
    assert "Refund twice" in page and "updated just now" in page
    assert "Not read yet" not in page and "not fetched yet" in page
    assert "The details appear once the background refresh has read this conversation" in page


def test_a_stored_card_says_its_age(connected):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Old news")
    connected.link(issue, conversation["id"])
    ConversationSnapshot.objects.update(fetched_at=timezone.now() - timezone.timedelta(minutes=3, seconds=5))
    listing = selectors.issue_cards(connected.site, issue["id"])
    assert listing.cards[0].freshness == "updated 3\xa0minutes ago"


def test_a_webhook_updates_the_card_and_the_remote_link_without_reading_intercom(connected, client, eager):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Closing soon")
    link = connected.link(issue, conversation["id"])
    tasks.remote_link_sync(link.pk)
    connected.intercom.conversations[conversation["id"]]["state"] = "closed"
    payload = connected.intercom.webhook_payload("conversation.admin.closed", conversation["id"])
    before = intercom_calls(connected.intercom)
    with eager(execute=False):
        response = post_intercom(client, connected.workspace, payload)
    with eager(execute=True):
        assert process.webhook_event_process(response.json()["id"]) == "processed"
    assert intercom_calls(connected.intercom) == before  # the notification carried the conversation
    assert ConversationSnapshot.objects.get().state == "closed"
    assert selectors.issue_cards(connected.site, issue["id"]).cards[0].state == "closed"
    remote = connected.sim_issue(issue["key"])["remotelinks"]
    assert remote[0]["object"]["status"]["resolved"] is True


def test_the_refresh_leaves_the_budget_to_waiting_notes(connected):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"], refresh=False)
    factories.DeliveryFactory(workspace=connected.workspace, conversation_id=conversation["id"])
    before = intercom_calls(connected.intercom)
    result = connected.refresh()
    assert result["read"] == 0 and result["deferred"] == 1
    assert intercom_calls(connected.intercom) == before
    assert ConversationSnapshot.objects.get().fetched_at is None


def test_refresh_reads_stay_below_the_reserve_for_notes_and_never_meet_a_429(connected, settings):
    settings.INTERCOM_READ_RESERVE = 0.3
    connected.intercom.rate_limit = 20  # per 10-second window; the limiter learns it from the headers
    issue = connected.issue()
    ids = connected.intercom.add_conversations(30)
    for conversation_id in ids:
        connected.link(issue, conversation_id, refresh=False)
    result = tasks.snapshots_refresh(max_seconds=2)
    assert result["deferred"] >= 1  # the budget ran out: the rest waits for the next run
    assert connected.intercom.throttled == 0
    # reads take at most 70 % of a window (plus the first read made before the limit was learnt)
    assert connected.intercom.max_calls_per_window() <= 14 + 1
    assert 0 < ConversationSnapshot.objects.exclude(fetched_at=None).count() < 30


def test_the_table_mode_searches_sorts_and_pages_hundreds_of_links(connected, admin_client):
    issue = connected.issue()
    links = [connected.link(issue, str(1000 + n), refresh=False) for n in range(120)]
    for n, link in enumerate(links):
        ConversationSnapshot.objects.filter(conversation_id=link.conversation_id).update(
            customer=f"Customer {n:03d}", subject="Refund" if n % 10 == 0 else "Login", state="open",
            fetched_at=timezone.now(),
        )
    page = admin_client.get(f"/issues/{issue['key']}/?view=table&q=refund&sort=customer").content.decode()
    assert 'data-testid="links-table"' in page
    rows = re.findall(r'<tr data-conversation="(\d+)"', page)
    assert rows == [str(1000 + n) for n in range(0, 120, 10)]
    assert "12 of 120 match" in page
    first = admin_client.get(f"/issues/{issue['key']}/?view=table&sort=-linked").content.decode()
    assert re.findall(r'<tr data-conversation="(\d+)"', first)[:2] == ["1119", "1118"]
    assert "Page 1 of 3" in first
    last = admin_client.get(f"/issues/{issue['key']}/?view=table&sort=-linked&page=3").content.decode()
    assert len(re.findall(r'<tr data-conversation="', last)) == 20


def test_odd_listing_parameters_fall_back_instead_of_failing(connected, admin_client):
    issue = connected.issue()
    connected.link(issue, "5", refresh=False)
    for query in ("?page=-3", "?page=abc", "?sort=drop%20table", "?q=" + "x" * 5000, "?view=weird&page=999"):
        assert admin_client.get(f"/issues/{issue['key']}/{query}").status_code == 200


def test_links_made_before_snapshots_existed_get_one_from_the_refresh(connected):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Legacy link")
    connected.link(issue, conversation["id"], refresh=False)
    ConversationSnapshot.objects.all().delete()  # as after the upgrade
    connected.refresh()
    assert snapshots.snapshot_for(connected.workspace, conversation["id"]).subject == "Legacy link"


def test_a_webhook_naming_another_assignee_never_shows_the_previous_ones_name(connected, client, eager):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation(subject="Reassigned")
    admin = connected.intercom.app_admin
    connected.intercom.conversations[conversation["id"]]["admin_assignee_id"] = admin["id"]
    connected.link(issue, conversation["id"])
    assert ConversationSnapshot.objects.get().assignee_name == admin["name"]
    connected.intercom.conversations[conversation["id"]]["admin_assignee_id"] = "424242"
    cache.clear()  # the admins' names are not known when the notification comes
    payload = connected.intercom.webhook_payload("conversation.admin.opened", conversation["id"])
    with eager(execute=False):
        response = post_intercom(client, connected.workspace, payload)
    with eager(execute=True):
        process.webhook_event_process(response.json()["id"])
    assert ConversationSnapshot.objects.get().assignee_name == ""
    (card,) = selectors.issue_cards(connected.site, issue["id"]).cards
    assert {f.value for _, values in card.sections for f in values} >= {"admin 424242"}
