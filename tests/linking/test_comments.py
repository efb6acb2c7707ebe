"""Comments into linked conversations: bodies, permission checks, the double-submit guard."""

from datetime import UTC, datetime

import pytest

from deliveries.models import Delivery
from linking import comments
from linking.models import ConversationLink
from tests import factories

pytestmark = pytest.mark.django_db


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
        factories.ConversationLinkFactory(site=project.site, issue_id="5", issue_key="SUP-5",
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
    stranger = factories.ConversationLinkFactory(site=project.site, issue_id="6", issue_key="SUP-6",
                                                 workspace=project.workspace, conversation_id="99", source="ui")
    with pytest.raises(comments.CommentRefused, match="not linked to this issue"):
        comments.comment_links(site_id=project.site_id, issue_id="5", link_ids=[links[0].pk, stranger.pk])


def test_no_choice_means_every_reachable_link(issue_links):
    project, links = issue_links
    ConversationLink.objects.filter(pk=links[2].pk).update(health="missing")
    chosen = comments.comment_links(site_id=project.site_id, issue_id="5", link_ids=[])
    assert [link.conversation_id for link in chosen] == ["11", "12"]
