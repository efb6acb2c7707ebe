"""Conversation snapshots: what a card and a remote link show about a conversation, stored in PostgreSQL.

Views and remote-link writes read the stored snapshot and never wait for Intercom. Snapshots are written by
Intercom webhooks (the conversation they carry, no read needed) and by the background refresh, whose reads go
through `intercom_reads` (the shared rate limiter, below notes in priority).
"""

import html
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import nh3
from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from connector.errors import VendorError, VendorErrorKind
from connector.models import IntercomWorkspace
from deliveries.models import TargetType
from linking import intercom_reads
from linking.models import ConversationLink, ConversationSnapshot

logger = logging.getLogger(__name__)
ADMINS_CACHE_SECONDS = 300


@dataclass
class ConversationBundle:
    """A conversation with its first contact and that contact's first company; `problem` when unreadable."""

    conversation_id: str
    conversation: dict | None = None
    contact: dict | None = None
    company: dict | None = None
    problem: str = ""  # "", "deleted" (Intercom says 404) or "unreachable" (anything else)
    message: str = ""
    admins: dict[str, str] = field(default_factory=dict)  # admin id -> name, for the assignee

    @property
    def state(self) -> str:
        return str((self.conversation or {}).get("state") or "")

    @property
    def is_closed(self) -> bool:
        return self.state == "closed"


# --- reading Intercom (background only) -----------------------------------------------------------------------


def conversation_fetch(
    workspace: IntercomWorkspace, conversation_id: str, *, max_wait: float = 0.0
) -> ConversationBundle:
    """Read a conversation, its contact and company through the read budget. A read the budget cannot
    afford now raises VendorError(RATE_LIMITED) before anything is called; later reads that cannot be
    afforded leave the bundle partial (the conversation itself is what matters)."""
    bundle = ConversationBundle(conversation_id=conversation_id)
    try:
        bundle.conversation = intercom_reads.read(
            workspace, lambda c: c.conversation(conversation_id), max_wait=max_wait
        )
    except VendorError as exc:
        if exc.kind == VendorErrorKind.RATE_LIMITED:
            raise
        bundle.problem = "deleted" if exc.kind == VendorErrorKind.NOT_FOUND else "unreachable"
        bundle.message = str(exc)
        return bundle
    contacts = ((bundle.conversation.get("contacts") or {}).get("contacts")) or []
    try:
        if contacts and contacts[0].get("id"):
            contact_id = str(contacts[0]["id"])
            bundle.contact = intercom_reads.read(workspace, lambda c: c.contact(contact_id), max_wait=max_wait)
        companies = ((bundle.contact or {}).get("companies") or {}).get("data") or []
        if companies and companies[0].get("id"):
            company_id = str(companies[0]["id"])
            bundle.company = intercom_reads.read(workspace, lambda c: c.company(company_id), max_wait=max_wait)
        bundle.admins = admin_names(workspace, max_wait=max_wait)
    except VendorError as exc:  # the conversation itself is there: keep what we have
        logger.info("linking.snapshot_partial", extra={"conversation": conversation_id, "error": str(exc)})
    return bundle


def admin_names(workspace: IntercomWorkspace, *, max_wait: float = 0.0) -> dict[str, str]:
    key = f"linking:admins:{workspace.pk}"
    names = cache.get(key)
    if names is None:
        admins = intercom_reads.read(workspace, lambda c: c.admins(), max_wait=max_wait)
        names = {str(a.get("id")): str(a.get("name") or "") for a in admins}
        cache.set(key, names, ADMINS_CACHE_SECONDS)
    return names


# --- storing ---------------------------------------------------------------------------------------------------


def _when(value) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _visible_fields(bundle: ConversationBundle) -> dict:
    """The columns a remote link and the table mode depend on."""
    conversation = bundle.conversation or {}
    return {
        "state": bundle.state[:16],
        "subject": subject_text(bundle)[:200],
        "customer": customer_name(bundle)[:255],
        "last_activity_at": _when(conversation.get("updated_at")),
    }


def snapshot_store(
    workspace: IntercomWorkspace, bundle: ConversationBundle, snapshot: ConversationSnapshot | None = None
) -> tuple[ConversationSnapshot, bool]:
    """Store what was read; an outage keeps the last good data and only records the problem. Returns the
    snapshot and whether what the remote link shows (state, subject, customer, deleted) changed."""
    if snapshot is None:
        snapshot, _ = ConversationSnapshot.objects.get_or_create(
            workspace=workspace, conversation_id=bundle.conversation_id
        )
    before = (snapshot.state, snapshot.subject, snapshot.customer, snapshot.problem)
    now = timezone.now()
    snapshot.problem, snapshot.message = bundle.problem, bundle.message[:500]
    snapshot.wanted_at = None
    if bundle.problem != "unreachable":
        snapshot.fetched_at = now
    if bundle.conversation is not None:
        previous_admin = str((snapshot.conversation or {}).get("admin_assignee_id") or "")
        snapshot.conversation = bundle.conversation
        snapshot.contact = bundle.contact or snapshot.contact
        snapshot.company = bundle.company or snapshot.company
        admin_id = str(bundle.conversation.get("admin_assignee_id") or "")
        # A name not known now is kept only for the same assignee (the card shows "admin <id>" otherwise).
        known = snapshot.assignee_name if admin_id and admin_id == previous_admin else ""
        snapshot.assignee_name = bundle.admins.get(admin_id, known)[:255]
        for name, value in _visible_fields(_bundle_of(snapshot)).items():
            setattr(snapshot, name, value)
    snapshot.save()
    return snapshot, before != (snapshot.state, snapshot.subject, snapshot.customer, snapshot.problem)


def snapshot_from_webhook(workspace: IntercomWorkspace, conversation_id: str, item: dict) -> bool:
    """An Intercom notification carries the conversation: store it without reading anything. Only for
    conversations that have a snapshot (linked ones); contact and company stay as last read. True when
    what the remote link shows changed."""
    if not isinstance(item, dict) or not item.get("id"):
        return False
    snapshot = ConversationSnapshot.objects.filter(workspace=workspace, conversation_id=conversation_id).first()
    if snapshot is None:
        if not ConversationLink.objects.filter(workspace=workspace, conversation_id=conversation_id).exists():
            return False
        snapshot = ConversationSnapshot(workspace=workspace, conversation_id=conversation_id)
    bundle = _bundle_of(snapshot)
    bundle.conversation, bundle.problem, bundle.message = item, "", ""
    bundle.admins = cache.get(f"linking:admins:{workspace.pk}") or {}
    snapshot, changed = snapshot_store(workspace, bundle, snapshot)
    contact_ids = [str(c.get("id")) for c in ((item.get("contacts") or {}).get("contacts") or [])[:1]]
    if contact_ids and str((snapshot.contact or {}).get("id") or "") not in contact_ids:
        # a contact not read yet: read it in the background
        ConversationSnapshot.objects.filter(pk=snapshot.pk).update(wanted_at=timezone.now())
    return changed


def snapshot_mark_deleted(workspace: IntercomWorkspace, conversation_id: str) -> None:
    ConversationSnapshot.objects.filter(workspace=workspace, conversation_id=conversation_id).update(
        problem=ConversationSnapshot.Problem.DELETED, fetched_at=timezone.now(), wanted_at=None
    )


def snapshots_ensure(workspace_id: int, conversation_ids: list[str]) -> None:
    """Snapshots for newly linked conversations, wanted by the background refresh; existing ones stay."""
    now = timezone.now()
    rows = [ConversationSnapshot(workspace_id=workspace_id, conversation_id=c, wanted_at=now) for c in conversation_ids]
    ConversationSnapshot.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def snapshots_ensure_for_links(*, limit: int) -> int:
    """Snapshots for linked conversations that have none (links made before snapshots existed)."""
    missing = (
        ConversationLink.objects.filter(
            ~Exists(
                ConversationSnapshot.objects.filter(
                    workspace_id=OuterRef("workspace_id"), conversation_id=OuterRef("conversation_id")
                )
            ),
            target_type=TargetType.CONVERSATION,
        )
        .order_by()
        .values_list("workspace_id", "conversation_id")
        .distinct()[:limit]
    )
    pairs = list(missing)
    for workspace_id in {w for w, _ in pairs}:
        snapshots_ensure(workspace_id, [c for w, c in pairs if w == workspace_id])
    return len(pairs)


def snapshot_for(workspace: IntercomWorkspace, conversation_id: str) -> ConversationSnapshot | None:
    return ConversationSnapshot.objects.filter(workspace=workspace, conversation_id=conversation_id).first()


def snapshots_due(*, stale_before: datetime, limit: int) -> list[ConversationSnapshot]:
    """Snapshots to read: asked for first (oldest request first), then the longest unread of linked ones."""
    linked = ConversationLink.objects.filter(
        workspace_id=OuterRef("workspace_id"), conversation_id=OuterRef("conversation_id")
    )
    due = ConversationSnapshot.objects.filter(Q(wanted_at__isnull=False) | Q(fetched_at__lt=stale_before))
    due = due.filter(Exists(linked)).select_related("workspace")
    return list(due.order_by(F("wanted_at").asc(nulls_last=True), F("fetched_at").asc(nulls_first=True), "pk")[:limit])


# --- reading what is stored ---------------------------------------------------------------------------------------


def _bundle_of(snapshot: ConversationSnapshot) -> ConversationBundle:
    conversation = snapshot.conversation or None
    admin_id = str((conversation or {}).get("admin_assignee_id") or "")
    return ConversationBundle(
        conversation_id=snapshot.conversation_id,
        conversation=conversation,
        contact=snapshot.contact or None,
        company=snapshot.company or None,
        problem=snapshot.problem,
        message=snapshot.message,
        admins={admin_id: snapshot.assignee_name} if admin_id and snapshot.assignee_name else {},
    )


def snapshot_bundle(snapshot: ConversationSnapshot | None, conversation_id: str = "") -> ConversationBundle:
    """The stored conversation as a bundle (empty, without a problem, when it was never read)."""
    if snapshot is None:
        return ConversationBundle(conversation_id=conversation_id)
    return _bundle_of(snapshot)


def customer_name(bundle: ConversationBundle) -> str:
    contact = bundle.contact or {}
    author = ((bundle.conversation or {}).get("source") or {}).get("author") or {}
    return str(contact.get("name") or contact.get("email") or author.get("name") or author.get("email") or "")


def subject_text(bundle: ConversationBundle) -> str:
    """The subject, else the title, else the start of the first message as plain text."""
    conversation = bundle.conversation or {}
    source = conversation.get("source") or {}
    for candidate in (source.get("subject"), conversation.get("title")):
        text = _plain(nh3.clean(str(candidate), tags=set())) if candidate else ""
        if text:
            return text[:200]
    body = _plain(nh3.clean(str(source.get("body") or ""), tags=set()))
    return body[:120] + ("…" if len(body) > 120 else "")


def _plain(text: str) -> str:
    return " ".join(html.unescape(text).split())
