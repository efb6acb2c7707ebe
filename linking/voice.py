"""The customer's voice back in Jira (opt-in per project, SupportSettings.voice_enabled).

A customer's reply in a linked conversation (Intercom's conversation.user.replied, through pipeline.process)
is recorded once per Intercom part and linked issue (CustomerReply: a redelivered webhook adds nothing) and
becomes part of one Jira comment per issue and window: the first reply opens the window (a CUSTOMER_VOICE
JiraWrite due at its end), later ones join it. The comment is internal by default (JSM `sd.public.comment`),
or restricted to a role or group; it names each customer and links back to the conversation.

Exactly once: the replies of a comment are marked with a batch id before the call and the comment carries it
as a property; a run that finds a batch left by an earlier failed attempt looks for that property among the
issue's latest comments before posting again. Never echoed: the comment is written as our app user (whose
events the parser ignores) and its id is recorded, so comment rules skip it even from another account.
Every reply counts for "most asked about": the issue property's `customerReplies`, a number field if one is
chosen (JQL), and the reports page's ranking by customer replies.
"""

import html
import logging
import uuid
from datetime import timedelta

import nh3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError, VendorErrorKind
from connector.models import IntercomWorkspace, JiraSite
from deliveries.models import TargetType
from linking import jira_pace, services
from linking.conversation_urls import conversation_web_url
from linking.models import ConversationLink, CustomerReply, JiraWrite, SupportSettings

logger = logging.getLogger(__name__)
COMMENT_PROPERTY = "jira-intercom-connector.customer-voice"
BATCH_PREFIX = "batch:"
MAX_QUOTE = 2000
VOICE_TASK = "linking.tasks.customer_voice_post"


def _text(body_html: str) -> str:
    return " ".join(html.unescape(nh3.clean(body_html or "", tags=set())).split())


def customer_reply_record(*, workspace: IntercomWorkspace, event) -> int:
    """Record a customer's reply for every linked issue whose project wants it; returns how many were new."""
    if not event.part_id:
        return 0
    links = ConversationLink.objects.filter(
        workspace=workspace, conversation_id=event.conversation_id, target_type=TargetType.CONVERSATION,
        health=ConversationLink.Health.OK,
    ).select_related("site")
    recorded = 0
    for link in links:
        project = project_connection_for(link.site, project_key=link.project_key, issue_key=link.issue_key)
        chosen = SupportSettings.objects.filter(project=project).first() if project else None
        if chosen is None or not chosen.voice_enabled:
            continue
        _, created = CustomerReply.objects.get_or_create(
            site=link.site, issue_id=link.issue_id, workspace=workspace, conversation_id=event.conversation_id,
            part_id=event.part_id,
            defaults={"issue_key": link.issue_key, "author_name": event.author_name[:255],
                      "body": _text(event.body)[:MAX_QUOTE]},
        )
        if created:
            recorded += 1
            voice_post_later(site_id=link.site_id, issue_id=link.issue_id, window=chosen.voice_window_seconds)
            services.jira_write_later(JiraWrite.Kind.ISSUE_SEARCH_SYNC, site_id=link.site_id, issue_id=link.issue_id)
    return recorded


def voice_post_later(*, site_id: int, issue_id: str, window: int) -> None:
    """After commit: the issue's comment is due at the end of the window the first waiting reply opened."""

    def record_and_send() -> None:
        now = timezone.now()
        with transaction.atomic():
            write, created = JiraWrite.objects.select_for_update().get_or_create(
                kind=JiraWrite.Kind.CUSTOMER_VOICE, site_id=site_id, issue_id=str(issue_id), target="",
                defaults={"requested_at": now, "next_attempt_at": now + timedelta(seconds=window)},
            )
            if not created:  # joins the open window; a run under way keeps the row for what came meanwhile
                if write.status == JiraWrite.Status.FAILED:
                    write.status, write.attempts, write.next_attempt_at = JiraWrite.Status.PENDING, 0, now
                write.requested_at = now
                write.save(update_fields=["status", "attempts", "next_attempt_at", "requested_at", "updated_at"])
        try:  # a hint: the sweeper runs it when due whatever happens to this message
            services.task_send_later(VOICE_TASK, window, site_id, str(issue_id))
        except Exception as exc:
            logger.warning("linking.enqueue_failed", extra={"write_id": write.pk, "error": type(exc).__name__})

    transaction.on_commit(record_and_send)


def _visibility(chosen: SupportSettings | None) -> dict:
    """What restricts the comment: JSM-internal unless a role or group is named (fails closed to internal)."""
    if chosen and chosen.voice_visibility in ("role", "group") and chosen.voice_visibility_value:
        return {"visibility": {"type": chosen.voice_visibility, "value": chosen.voice_visibility_value}}
    return {"properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}


def _comment_text(replies: list[CustomerReply]) -> str:
    parts = []
    for reply in replies:
        workspace = reply.workspace
        url = conversation_web_url(app_id=workspace.workspace_id or "", region=workspace.region,
                                   conversation_id=reply.conversation_id)
        who = reply.author_name or "A customer"
        parts.append(f"{who} replied in Intercom ({url}):\n\n{reply.body or '(no text)'}")
    return "\n\n".join(parts)


def voice_post(site: JiraSite, issue_id: str) -> str | None:
    """Post the issue's waiting customer replies as one comment; returns its id (None when nothing waited)."""
    waiting = CustomerReply.objects.filter(site=site, issue_id=issue_id, posted_at__isnull=True)
    batch = waiting.filter(comment_id__startswith=BATCH_PREFIX).values_list("comment_id", flat=True).first()
    client = jira_pace.client_for(site)
    if batch:  # an earlier attempt may have got through: look before posting again
        for comment in client.recent_comments(issue_id):
            for prop in comment.get("properties") or []:
                if prop.get("key") == COMMENT_PROPERTY and (prop.get("value") or {}).get("batch") == batch:
                    return _mark_posted(site, issue_id, batch, str(comment.get("id")))
    else:
        batch = f"{BATCH_PREFIX}{uuid.uuid4().hex}"
        if not waiting.filter(comment_id="").update(comment_id=batch):
            return None
    replies = list(waiting.filter(comment_id=batch).select_related("workspace").order_by("received_at", "id"))
    if not replies:
        return None
    first = replies[0]
    project = project_connection_for(site, issue_key=first.issue_key)
    chosen = SupportSettings.objects.filter(project=project).first() if project else None
    payload = {"body": _comment_text(replies), **_visibility(chosen)}
    payload.setdefault("properties", []).append({"key": COMMENT_PROPERTY, "value": {"batch": batch}})
    comment = client.add_comment(issue_id, payload)
    return _mark_posted(site, issue_id, batch, str(comment.get("id") or ""))


def _mark_posted(site: JiraSite, issue_id: str, batch: str, comment_id: str) -> str:
    CustomerReply.objects.filter(site=site, issue_id=issue_id, comment_id=batch).update(
        comment_id=comment_id, posted_at=timezone.now()
    )
    return comment_id


def voice_post_for_write(site_id: int, issue_id: str) -> str | None:
    """The task's body: a missing issue drops its waiting replies' batch (nothing to post to)."""
    site = JiraSite.objects.filter(pk=site_id).first()
    if site is None:
        return None
    try:
        return voice_post(site, issue_id)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return None
        raise


def is_customer_voice_comment(site_id: int, comment_id: str) -> bool:
    """A Jira comment we wrote from customers' replies: comment rules never send it back to Intercom."""
    return bool(comment_id) and CustomerReply.objects.filter(site_id=site_id, comment_id=str(comment_id)).exists()


def customer_reply_purge(*, batch: int = 1000) -> int:
    """Empty the text and name of replies posted more than RETENTION_DAYS ago; the rows stay (the counts)."""
    cutoff = timezone.now() - timedelta(days=settings.RETENTION_DAYS)
    due = CustomerReply.objects.filter(posted_at__lt=cutoff).exclude(body="", author_name="")
    purged = 0
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:batch]):
        purged += CustomerReply.objects.filter(pk__in=ids).update(body="", author_name="")
    return purged
