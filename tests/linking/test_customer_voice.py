"""The customer's voice back in Jira: each customer reply in a linked conversation ends up in exactly one
internal Jira comment (coalesced per issue within the window), never twice for a redelivered webhook or an
ambiguous answer from Jira, never echoed back into Intercom, and counted for "most asked about"."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from connector.jira_events import parse_jira_event
from linking import tasks
from linking.jira_sync import PROPERTY_KEY
from linking.models import CustomerReply, JiraWrite, SupportSettings
from linking.voice import COMMENT_PROPERTY
from notifications.models import NotificationRule
from notifications.planning import plan_event
from pipeline import process
from tests.webhooks import post_intercom

pytestmark = pytest.mark.django_db


@pytest.fixture
def voice(connected):
    return SupportSettings.objects.create(project=connected.project, voice_enabled=True, voice_window_seconds=120)


@pytest.fixture
def replied(client, connected, eager):
    """Send a conversation.user.replied notification through intake and processing; returns the outcome."""

    def send(payload: dict) -> str | None:
        with eager(execute=False):
            response = post_intercom(client, connected.workspace, payload)
        assert response.status_code in (200, 202), response.content
        if "id" not in response.json():
            return None  # a redelivery: stored before, nothing new
        with eager(execute=True):
            return process.webhook_event_process(response.json()["id"])

    return send


def _due_now(connected, issue):
    JiraWrite.objects.filter(kind="customer_voice", issue_id=issue["id"]).update(next_attempt_at=timezone.now())


def _voice_comments(connected, issue):
    return [c for c in connected.sim_issue(issue["key"])["comments"]
            if any(p.get("key") == COMMENT_PROPERTY for p in c.get("properties") or [])]


def test_replies_within_the_window_become_one_internal_comment_with_names_and_links(connected, voice, replied):
    issue = connected.issue()
    grace = connected.intercom.add_contact(name="Grace Hopper")
    conversation = connected.intercom.add_conversation(contact=grace)
    connected.link(issue, conversation["id"])
    replied(connected.intercom.user_replied(conversation["id"], "<p>Still <b>broken</b> for us</p>"))
    replied(connected.intercom.user_replied(conversation["id"], "<p>Any news?</p>"))
    write = JiraWrite.objects.get(kind="customer_voice", issue_id=issue["id"])
    assert write.next_attempt_at > timezone.now() + timedelta(seconds=100)  # waits for the window
    assert tasks.customer_voice_post(connected.site.pk, issue["id"]) is None  # not due yet: nothing posted
    assert _voice_comments(connected, issue) == []

    _due_now(connected, issue)
    tasks.customer_voice_post(connected.site.pk, issue["id"])
    (comment,) = _voice_comments(connected, issue)
    text = str(comment["body"])
    assert "Grace Hopper replied in Intercom" in text and "Still broken for us" in text and "Any news?" in text
    assert f"/inbox/conversation/{conversation['id']}" in text
    assert comment["jsd_public"] is False  # JSM-internal by default
    assert comment["author"] == connected.jira.app_user["accountId"]
    assert not JiraWrite.objects.filter(kind="customer_voice").exists()
    assert CustomerReply.objects.filter(posted_at__isnull=False, comment_id=comment["id"]).count() == 2


def test_a_redelivered_webhook_or_the_same_part_again_adds_nothing(connected, voice, replied):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"])
    payload = connected.intercom.user_replied(conversation["id"], "<p>Please fix</p>")
    replied(payload)
    replied(payload)  # Intercom delivers the same notification again
    replied({**payload, "id": "notif_another"})  # or the same part in another notification
    assert CustomerReply.objects.count() == 1
    _due_now(connected, issue)
    tasks.customer_voice_post(connected.site.pk, issue["id"])
    tasks.customer_voice_post(connected.site.pk, issue["id"])
    assert len(_voice_comments(connected, issue)) == 1


def test_an_ambiguous_answer_from_jira_does_not_post_the_comment_twice(connected, voice, replied):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"])
    replied(connected.intercom.user_replied(conversation["id"], "<p>Hello?</p>"))
    _due_now(connected, issue)
    connected.jira.faults.fail_after_next, connected.jira.faults.write_error_status = 1, 502
    assert tasks.customer_voice_post(connected.site.pk, issue["id"]) is None  # Jira wrote it, then answered 502
    write = JiraWrite.objects.get(kind="customer_voice")
    assert write.attempts == 1 and "502" in write.last_error
    _due_now(connected, issue)
    comment_id = tasks.customer_voice_post(connected.site.pk, issue["id"])
    (comment,) = _voice_comments(connected, issue)
    assert comment_id == comment["id"]
    assert CustomerReply.objects.get().comment_id == comment["id"]


def test_a_role_restriction_is_used_when_the_project_names_one(connected, voice, replied):
    voice.voice_visibility, voice.voice_visibility_value = "role", "Service Desk Team"
    voice.save()
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"])
    replied(connected.intercom.user_replied(conversation["id"], "<p>Hi</p>"))
    _due_now(connected, issue)
    tasks.customer_voice_post(connected.site.pk, issue["id"])
    (comment,) = _voice_comments(connected, issue)
    assert comment["visibility"] == {"type": "role", "value": "Service Desk Team"}


def test_projects_that_did_not_opt_in_hear_nothing(connected, replied):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"])
    replied(connected.intercom.user_replied(conversation["id"], "<p>Hi</p>"))
    assert not CustomerReply.objects.exists() and not JiraWrite.objects.filter(kind="customer_voice").exists()


def test_the_comment_is_never_echoed_back_into_intercom(connected, voice, replied, jira_hooks):
    NotificationRule.objects.update(enabled=False)  # the installation's defaults: only this rule counts
    NotificationRule.objects.create(name="Every comment", trigger="comment_created",
                                    comment_visibility=["public", "internal", "restricted"],
                                    actions=[{"type": "note"}])
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"])
    replied(connected.intercom.user_replied(conversation["id"], "<p>Broken again</p>"))
    _due_now(connected, issue)
    jira_hooks.take()
    tasks.customer_voice_post(connected.site.pk, issue["id"])
    (raw,) = [b for b in jira_hooks.take() if b"comment_created" in b]
    payload = json.loads(raw)
    # Even read as another account's comment (not our app user), the recorded comment id stops it.
    (event,) = parse_jira_event(payload, app_user_ids=(), site_url=connected.site.base_url).events
    assert plan_event(site=connected.site, event=event) == 0
    # An ordinary comment through the same rule is sent, so the rule itself is not what stops it.
    other = connected.jira.add_comment(issue["key"], "A colleague's comment")
    (raw_other,) = [b for b in jira_hooks.take() if b"comment_created" in b]
    (other_event,) = parse_jira_event(json.loads(raw_other), site_url=connected.site.base_url).events
    assert other_event.comment.id == other["id"]
    assert plan_event(site=connected.site, event=other_event) == 1


def test_replies_are_counted_on_the_issue_and_in_most_asked_about(connected, voice, replied, eager, admin_client):
    busy, quiet = connected.issue("Busy"), connected.issue("Quiet")
    for issue, count in ((busy, 3), (quiet, 1)):
        conversation = connected.intercom.add_conversation()
        connected.link(issue, conversation["id"])
        for n in range(count):
            replied(connected.intercom.user_replied(conversation["id"], f"<p>reply {n}</p>"))
    assert connected.sim_issue(busy["key"])["properties"][PROPERTY_KEY]["customerReplies"] == 3
    connected.link(quiet, connected.intercom.add_conversation()["id"])  # more links, fewer replies
    page = admin_client.get("/reports/?sort=replies").content.decode()
    assert page.index(f'data-issue="{busy["key"]}"') < page.index(f'data-issue="{quiet["key"]}"')
    assert '<td class="replies">3</td>' in page


def test_posted_replies_lose_their_text_after_the_retention_period_but_still_count(connected, voice, replied):
    issue = connected.issue()
    conversation = connected.intercom.add_conversation()
    connected.link(issue, conversation["id"])
    replied(connected.intercom.user_replied(conversation["id"], "<p>My card number is ...</p>"))
    _due_now(connected, issue)
    tasks.customer_voice_post(connected.site.pk, issue["id"])
    CustomerReply.objects.update(posted_at=timezone.now() - timedelta(days=400))
    tasks.jira_write_purge()
    reply = CustomerReply.objects.get()
    assert (reply.body, reply.author_name) == ("", "") and reply.comment_id
