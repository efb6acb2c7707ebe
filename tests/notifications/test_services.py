"""Services behind the pages: resend semantics, comment bodies, permission checks, the double-submit guard."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from deliveries import engine
from deliveries import services as delivery_services
from deliveries.models import Delivery
from linking import comments
from linking.models import ConversationLink
from notifications import services
from tests import factories
from tests.conftest import workspace_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    calls = []
    monkeypatch.setattr("deliveries.services.pump_enqueue", calls.append)
    return calls


def row(workspace, key, **fields):
    defaults = {"conversation_id": "1", "action": "note", "next_attempt_at": timezone.now(), "body": "<p>x</p>"}
    return Delivery.objects.create(idempotency_key=key, workspace=workspace, **{**defaults, **fields})


# --- resend ----------------------------------------------------------------------------------------------


def test_resend_resets_failed_held_and_skipped_rows_and_enqueues_the_pump(
    enqueued, django_capture_on_commit_callbacks
):
    ws = factories.IntercomWorkspaceFactory()
    rows = [row(ws, s, status=s, attempts=3, last_error="boom") for s in ("failed", "held", "skipped", "sent")]
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_services.delivery_resend(ids=[r.pk for r in rows]) == 3
    statuses = dict(Delivery.objects.values_list("idempotency_key", "status"))
    assert statuses == {"failed": "pending", "held": "pending", "skipped": "pending", "sent": "sent"}
    assert set(Delivery.objects.filter(status="pending").values_list("attempts", flat=True)) == {0}
    assert enqueued == [ws.pk]


def test_resend_asks_for_a_check_only_when_the_row_ever_reached_sending():
    ws = factories.IntercomWorkspaceFactory()
    tried = row(ws, "tried", status="failed", attempts=2, claimed_at=timezone.now())
    never = row(ws, "never", status="skipped", attempts=0)
    delivery_services.delivery_resend(ids=[tried.pk, never.pk])
    tried.refresh_from_db()
    never.refresh_from_db()
    assert tried.verify and not never.verify


def test_a_resent_note_that_already_got_through_is_not_written_twice(intercom_sim, redis_client):
    ws = workspace_for(intercom_sim)
    (conversation,) = intercom_sim.add_conversations(1)
    d = row(ws, "ambiguous", conversation_id=conversation, body="<p>SUP-1 is done</p>")
    engine.pump(ws.pk)
    # As after a timeout whose write did land: recorded as failed although Intercom has the note.
    Delivery.objects.filter(pk=d.pk).update(status="failed", last_error="timeout", part_id="")
    delivery_services.delivery_resend(ids=[d.pk])
    engine.pump(ws.pk)
    d.refresh_from_db()
    assert d.status == "sent"
    assert intercom_sim.counts_by_conversation("note") == {conversation: 1}


# --- comment bodies and checks ---------------------------------------------------------------------------


def test_plain_text_comments_are_escaped_and_keep_their_paragraphs():
    html = comments.comment_html("Hi <script>alert(1)</script>\nline two\n\nnext & last")
    assert html == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;<br>line two</p><p>next &amp; last</p>"


def test_wiki_markup_comments_become_safe_html():
    html = comments.comment_html("*bold* [docs|javascript:alert(1)]", markup="wiki")
    assert "<b>bold</b>" in html or "<strong>bold</strong>" in html
    assert "javascript:" not in html


@pytest.mark.parametrize(
    ("codes", "allowed", "message_type", "refusal"),
    [
        (("comment_note",), False, "note", None),
        ((), False, "note", "internal notes"),
        (("comment_note", "reply_customer"), False, "comment", "turned off for project"),
        (("comment_note",), True, "comment", "permission to reply"),
        (("reply_customer",), True, "comment", None),
        (("comment_note",), False, "email", "Choose an internal note"),
    ],
)
def test_who_may_post_what(codes, allowed, message_type, refusal):
    from django.contrib.auth.models import Permission

    user = factories.UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts", codename__in=codes))
    project = factories.ProjectConnectionFactory(customer_replies_allowed=allowed)
    if refusal is None:
        comments.comment_check(user=user, project=project, message_type=message_type)
    else:
        with pytest.raises(comments.CommentRefused, match=refusal):
            comments.comment_check(user=user, project=project, message_type=message_type)


# --- posting ---------------------------------------------------------------------------------------------


@pytest.fixture
def issue_links():
    project = factories.ProjectConnectionFactory(project_key="SUP")
    links = [
        ConversationLink.objects.create(site=project.site, issue_id="5", issue_key="SUP-5",
                                        workspace=project.workspace, conversation_id=cid, source="ui")
        for cid in ("11", "12", "13")
    ]
    return project, links


def test_a_comment_becomes_one_delivery_per_link_once_per_token(issue_links, admin_user, enqueued):
    project, links = issue_links
    post = dict(user=admin_user, project=project, links=links, body_html="<p>Fixed</p>", message_type="note")
    first = comments.comment_post(token="t1", **post)
    again = comments.comment_post(token="t1", **post)
    assert (first.created, again.created, again.duplicate) == (3, 0, True)
    rows = Delivery.objects.all()
    assert {d.conversation_id for d in rows} == {"11", "12", "13"}
    assert {(d.source, d.action, d.created_by_id, d.issue_key) for d in rows} == {
        ("comment", "note", admin_user.pk, "SUP-5")}
    assert comments.comment_post(token="t2", **post).created == 3  # a new form is a new message


def test_the_same_message_without_a_token_is_sent_once_even_across_a_window_edge(issue_links, admin_user):
    project, links = issue_links
    before_edge = datetime(2030, 1, 1, 0, 1, 59, tzinfo=UTC)
    after_edge = datetime(2030, 1, 1, 0, 2, 1, tzinfo=UTC)
    tokens = [
        comments.comment_content_tokens(user=admin_user, issue_id="5", body="Fixed", message_type="note",
                                        link_ids=[link.pk for link in links], now=now)
        for now in (before_edge, after_edge)
    ]
    post = dict(user=admin_user, project=project, links=links, body_html="<p>Fixed</p>", message_type="note")
    assert comments.comment_post(token=tokens[0][0], earlier_tokens=tokens[0][1:], **post).created == 3
    assert comments.comment_post(token=tokens[1][0], earlier_tokens=tokens[1][1:], **post).created == 0
    assert Delivery.objects.count() == 3


def test_an_empty_comment_is_refused(issue_links, admin_user):
    project, links = issue_links
    with pytest.raises(comments.CommentRefused, match="empty"):
        comments.comment_post(user=admin_user, project=project, links=links, body_html="<script></script>",
                              message_type="note", token="t")


def test_links_of_another_issue_cannot_be_chosen(issue_links):
    project, links = issue_links
    stranger = ConversationLink.objects.create(site=project.site, issue_id="6", issue_key="SUP-6",
                                               workspace=project.workspace, conversation_id="99", source="ui")
    with pytest.raises(comments.CommentRefused, match="not linked to this issue"):
        comments.comment_links(site_id=project.site_id, issue_id="5", link_ids=[links[0].pk, stranger.pk])


def test_no_choice_means_every_reachable_link(issue_links):
    project, links = issue_links
    ConversationLink.objects.filter(pk=links[2].pk).update(health="missing")
    chosen = comments.comment_links(site_id=project.site_id, issue_id="5", link_ids=[])
    assert [link.conversation_id for link in chosen] == ["11", "12"]


def test_a_test_note_is_a_test_delivery_with_a_sanitised_body(enqueued, django_capture_on_commit_callbacks):
    ws = factories.IntercomWorkspaceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        d = services.test_note_send(workspace=ws, conversation_id=" 42 ", body='<p onclick="x()">hi</p>')
    assert (d.source, d.conversation_id, d.action, d.body) == ("test", "42", "note", "<p>hi</p>")
    assert enqueued == [ws.pk]
