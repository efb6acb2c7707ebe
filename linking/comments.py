"""Comments from Jira users into an issue's linked conversations: who may send what, double-submit safety,
and one delivery per chosen conversation."""

from __future__ import annotations

import hashlib
import html
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connector import database
from connector.jira_markup import sanitize_note_html, wiki_to_html
from connector.models import ProjectConnection
from deliveries.models import Action, Delivery
from deliveries.services import delivery_create_many
from linking.models import ConversationLink
from linking.selectors import link_list_reachable


class CommentRefused(Exception):
    """The comment may not be posted; the message says why, for the person who wrote it."""

    def __init__(self, message: str, *, forbidden: bool = False):
        super().__init__(message)
        self.forbidden = forbidden  # not allowed (as opposed to not possible as asked)


MESSAGE_TYPES = {"note": Action.NOTE, "comment": Action.REPLY}


def comment_html(text: str, *, markup: str = "plain") -> str:
    """What the user typed as safe HTML: Jira wiki markup, or plain text kept as paragraphs and line breaks."""
    text = (text or "").strip()
    if markup == "wiki":
        return wiki_to_html(text)
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return sanitize_note_html(
        "".join("<p>" + html.escape(p.strip()).replace("\n", "<br>") + "</p>" for p in paragraphs)
    )


def comment_attributed(body_html: str, *, user, issue_key: str) -> str:
    """An internal note names who wrote it and about which issue: in Intercom it is written as the app user."""
    author = html.escape(user.get_full_name() or user.get_username())
    return f"<p><b>{author}</b> on <b>{html.escape(issue_key or '')}</b>:</p>{body_html}"


def comment_form_token() -> str:
    """A fresh token for one comment form: the same token posted twice creates the deliveries once."""
    return uuid.uuid4().hex


CONTENT_TOKEN_WINDOW = 120  # seconds


def comment_content_tokens(*, user, issue_id: str, body: str, message_type: str, link_ids, now=None) -> list[str]:
    """For a form that carried no token: tokens derived from what was sent, for this window and the last one.

    Posting the token of the current window and checking the previous one too means the same message sent
    twice within CONTENT_TOKEN_WINDOW seconds goes out once, even across a window edge.
    """
    window = int((now or timezone.now()).timestamp()) // CONTENT_TOKEN_WINDOW
    content = hashlib.sha256(
        f"{user.pk}|{issue_id}|{message_type}|{sorted(link_ids)}|{(body or '').strip()}".encode()
    ).hexdigest()[:32]
    return [f"content:{content}:{w}" for w in (window, window - 1)]


def comment_check(*, user, project: ProjectConnection, message_type: str) -> None:
    """Raise CommentRefused unless this user may post this kind of message into this project's conversations."""
    if not project.comment_from_jira:
        raise CommentRefused(
            f"Comments from Jira are turned off for project {project.project_key}. "
            "Ask an admin to turn on “Comment from Jira” on the project connection.",
            forbidden=True,
        )
    if message_type not in MESSAGE_TYPES:
        raise CommentRefused("Choose an internal note or a reply to the customer.")
    if message_type == "note" and not user.has_perm("accounts.comment_note"):
        raise CommentRefused(
            "You may not add internal notes: you need the permission to comment as a note.", forbidden=True
        )
    if message_type == "comment":
        if not project.customer_replies_allowed:
            raise CommentRefused(
                f"Customer-visible replies are turned off for project {project.project_key}. "
                "Send an internal note instead, or ask an admin to allow replies on the project connection.",
                forbidden=True,
            )
        if not user.has_perm("accounts.reply_customer"):
            raise CommentRefused(
                "You may not send replies that customers see: you need the permission to reply.", forbidden=True
            )


@dataclass(frozen=True)
class CommentResult:
    created: int
    targets: int
    keys: list[str]  # idempotency keys of every target, new or not

    @property
    def duplicate(self) -> bool:
        return self.targets > 0 and self.created == 0


def _token_key(token: str, link: ConversationLink) -> str:
    digest = hashlib.sha256(f"{token}|{link.workspace_id}|{link.conversation_id}".encode()).hexdigest()[:48]
    return f"comment:{digest}"


@transaction.atomic
def comment_post(
    *,
    user,
    project: ProjectConnection,
    links: list[ConversationLink],
    body_html: str,
    message_type: str,
    token: str,
    earlier_tokens: Iterable[str] = (),
) -> CommentResult:
    """One delivery per chosen link. The idempotency key comes from the form token, so a double submit is a no-op."""
    comment_check(user=user, project=project, message_type=message_type)
    body_html = sanitize_note_html(body_html)
    if not body_html.strip():
        raise CommentRefused("The message is empty.")
    if not links:
        raise CommentRefused("No linked conversation to post into.")
    if not token:
        raise CommentRefused("The form had no token; reload the page and send again.")
    rows = [
        {
            "idempotency_key": _token_key(token, link),
            "source": Delivery.Source.COMMENT,
            "workspace_id": link.workspace_id,
            "conversation_id": link.conversation_id,
            "target_type": link.target_type,
            "issue_id": link.issue_id,
            "issue_key": link.issue_key,
            "action": MESSAGE_TYPES[message_type],
            "body": body_html,
            "created_by": user,
        }
        for link in links
    ]
    database.transaction_lock(f"comment:{token}")  # two submits of one form wait for each other
    earlier = {_token_key(t, link): _token_key(token, link) for t in earlier_tokens for link in links}
    existing = set(
        Delivery.objects.filter(idempotency_key__in=[r["idempotency_key"] for r in rows] + list(earlier)).values_list(
            "idempotency_key", flat=True
        )
    )
    existing |= {earlier[k] for k in existing if k in earlier}
    fresh = [r for r in rows if r["idempotency_key"] not in existing]
    delivery_create_many(fresh)
    return CommentResult(created=len(fresh), targets=len(rows), keys=[r["idempotency_key"] for r in rows])


def comment_links(*, site_id: int, issue_id: str, link_ids: Iterable) -> list[ConversationLink]:
    """The chosen links of this issue (all reachable ones when none is chosen); ids of other issues are refused."""
    wanted = {int(i) for i in link_ids if str(i).strip().isdigit()}
    if not wanted:
        return list(link_list_reachable(site_id, issue_id).order_by("pk"))
    chosen = list(ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id, pk__in=wanted).order_by("pk"))
    if len(chosen) != len(wanted):
        raise CommentRefused("Some chosen conversations are not linked to this issue (any more). Reload the page.")
    return chosen


@dataclass(frozen=True)
class CommentOutcome:
    body_html: str
    links: list[ConversationLink]  # the conversations it goes (or, for a preview, would go) into
    token: str  # the idempotency token used, or for a preview the one its form carries on
    result: CommentResult | None  # None for a preview


def comment_submit(
    *,
    user,
    project: ProjectConnection,
    site_id: int,
    issue_id: str,
    body: str,
    markup: str,
    message_type: str,
    link_ids: Iterable,
    preview: bool = False,
    token: str = "",
    token_from_content: bool = False,
) -> CommentOutcome:
    """What the issue page and the API do with a comment: check who may send it, choose the conversations,
    render it, and unless previewing, post it (one delivery per conversation).

    Without a token, `token_from_content` derives it from what was sent (a form without one: the same message
    within a short window is a double submit); otherwise a fresh token is used. Raises CommentRefused.
    """
    html = comment_html(body, markup=markup)
    comment_check(user=user, project=project, message_type=message_type)
    links = comment_links(site_id=site_id, issue_id=issue_id, link_ids=link_ids)
    if MESSAGE_TYPES[message_type] == Action.NOTE and html.strip() and links:
        html = comment_attributed(html, user=user, issue_key=links[0].issue_key)
    if preview:
        return CommentOutcome(body_html=html, links=links, token=token or comment_form_token(), result=None)
    earlier: list[str] = []
    if not token and token_from_content:
        token, *earlier = comment_content_tokens(
            user=user, issue_id=issue_id, body=body, message_type=message_type, link_ids=[link.pk for link in links]
        )
    token = token or comment_form_token()
    result = comment_post(
        user=user, project=project, links=links, body_html=html, message_type=message_type, token=token,
        earlier_tokens=earlier,
    )
    return CommentOutcome(body_html=html, links=links, token=token, result=result)
