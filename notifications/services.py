"""Writes behind the rules and delivery pages: reorder rules, resend deliveries, test notes, manual comments.

Every write that creates or resets deliveries enqueues the workspace's pump on commit; the pump and the
sweeper do the sending, never the web request.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from connector.models import IntercomWorkspace, ProjectConnection
from linking.models import ConversationLink
from notifications.markup import sanitize_note_html, wiki_to_html
from notifications.models import Action, Delivery, NotificationRule
from notifications.selectors import RESENDABLE, rule_scope

Status = Delivery.Status


def _pumps_after_commit(workspace_ids: Iterable[int]) -> None:
    """Start the workspaces' pumps through the broker once the rows are committed (the web never sends)."""
    from notifications.tasks import delivery_pump_enqueue

    ids = sorted(set(workspace_ids))
    if ids:
        transaction.on_commit(lambda: [delivery_pump_enqueue(ws) for ws in ids])


# --- rules -----------------------------------------------------------------------------------------------


@transaction.atomic
def rule_move(*, rule: NotificationRule, direction: str) -> bool:
    """Swap the rule with its neighbour in its list ("up" or "down"); renumbers the list 0..n on the way."""
    siblings = list(rule_scope(rule).select_for_update().order_by("position", "id"))
    index = next(i for i, r in enumerate(siblings) if r.pk == rule.pk)
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= target < len(siblings):
        return False
    siblings[index], siblings[target] = siblings[target], siblings[index]
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            NotificationRule.objects.filter(pk=sibling.pk).update(position=position)
    return True


def rule_next_position(project: ProjectConnection | None) -> int:
    scope = NotificationRule.objects.filter(project=project) if project else NotificationRule.objects.filter(
        project__isnull=True
    )
    last = scope.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


# --- resend ----------------------------------------------------------------------------------------------


@transaction.atomic
def delivery_resend(*, ids: Iterable[int]) -> int:
    """Failed, held or skipped deliveries go back to pending now, with a fresh attempt count.

    A row that ever reached "sending" may have got through before it failed (a timeout, a killed worker), so
    it is marked to be verified: the engine reads the conversation before writing again.
    """
    rows = Delivery.objects.filter(pk__in=list(ids), status__in=RESENDABLE)
    workspaces = set(rows.values_list("workspace_id", flat=True).distinct())
    now = timezone.now()
    reached_sending = Q(claimed_at__isnull=False) | Q(attempts__gt=0)
    rows.filter(reached_sending).update(verify=True)
    count = rows.update(status=Status.PENDING, attempts=0, next_attempt_at=now, last_error="")
    _pumps_after_commit(workspaces)
    return count


# --- test note -------------------------------------------------------------------------------------------


@transaction.atomic
def test_note_send(
    *, workspace: IntercomWorkspace, conversation_id: str, body: str, user=None, rule: NotificationRule | None = None
) -> Delivery:
    """One note into one conversation, through the normal delivery path (limits, retries, the log)."""
    delivery = Delivery.objects.create(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        source=Delivery.Source.TEST,
        rule=rule,
        workspace=workspace,
        conversation_id=conversation_id.strip(),
        action=Action.NOTE,
        body=sanitize_note_html(body),
        next_attempt_at=timezone.now(),
        created_by=user,
    )
    _pumps_after_commit([workspace.pk])
    return delivery


# --- comments from the issue page ------------------------------------------------------------------------


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
    now = timezone.now()
    rows = [
        Delivery(
            idempotency_key=_token_key(token, link),
            source=Delivery.Source.COMMENT,
            workspace_id=link.workspace_id,
            conversation_id=link.conversation_id,
            issue_id=link.issue_id,
            issue_key=link.issue_key,
            action=MESSAGE_TYPES[message_type],
            body=body_html,
            next_attempt_at=now,
            created_by=user,
        )
        for link in links
    ]
    _lock_token(token)  # two submits of one form wait for each other, so the second sees the first's rows
    earlier = {_token_key(t, link): _token_key(token, link) for t in earlier_tokens for link in links}
    existing = set(
        Delivery.objects.filter(idempotency_key__in=[r.idempotency_key for r in rows] + list(earlier)).values_list(
            "idempotency_key", flat=True
        )
    )
    existing |= {earlier[k] for k in existing if k in earlier}
    fresh = [r for r in rows if r.idempotency_key not in existing]
    Delivery.objects.bulk_create(fresh, ignore_conflicts=True)
    if fresh:
        _pumps_after_commit({d.workspace_id for d in fresh})
    return CommentResult(created=len(fresh), targets=len(rows), keys=[r.idempotency_key for r in rows])


def _lock_token(token: str) -> None:
    if connection.vendor == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(f"comment:{token}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def comment_links(*, site_id: int, issue_id: str, link_ids: Iterable) -> list[ConversationLink]:
    """The chosen links of this issue (all reachable ones when none is chosen); ids of other issues are refused."""
    links = ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id).order_by("pk")
    wanted = {int(i) for i in link_ids if str(i).strip().isdigit()}
    if not wanted:
        return list(links.filter(health=ConversationLink.Health.OK))
    chosen = list(links.filter(pk__in=wanted))
    if len(chosen) != len(wanted):
        raise CommentRefused("Some chosen conversations are not linked to this issue (any more). Reload the page.")
    return chosen
