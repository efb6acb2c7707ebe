"""Writes: link and unlink, keep keys current, drop links of deleted issues, flag deleted conversations.

Every change records a LinkChange row and, once committed, records the Jira-side updates (remote link,
count field, issue property) as JiraWrite rows, enqueues their tasks, and sends the link_created /
link_removed signals. Tasks of this app are enqueued by name: linking.tasks imports this module.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from connector.errors import VendorError
from connector.jira_events import project_key_of
from connector.models import IntercomWorkspace, JiraSite
from deliveries.models import TargetType
from linking import cards, jira_pace, signals, snapshots
from linking.conversation_urls import ConversationRef, ConversationRefError, parse_conversation_ref
from linking.models import ConversationLink, IssueSnapshot, JiraWrite, LinkChange, SiteSearchSettings, VisibleFields

logger = logging.getLogger(__name__)


class LinkError(ValueError):
    """A link request that cannot be done; the message is meant for the user."""


@dataclass(frozen=True)
class IssueTarget:
    """An issue as the linking services need it; views and handlers fill it from Jira or from events."""

    site: JiraSite
    issue_id: str
    issue_key: str
    project_key: str = ""
    project_id: str = ""
    summary: str = ""
    status_name: str = ""
    status_category: str = ""


def conversation_ref_for_workspace(
    text: str, workspace: IntercomWorkspace, *, target_type: str = TargetType.CONVERSATION
) -> ConversationRef:
    """Parse pasted text and make sure it names a conversation (or ticket) of this workspace; `target_type`
    says what a bare id is."""
    try:
        ref = parse_conversation_ref(text, target_type=target_type)
    except ConversationRefError as exc:
        raise LinkError(str(exc)) from None
    if ref.app_id and workspace.workspace_id and ref.app_id != workspace.workspace_id.lower():
        raise LinkError(
            f"That conversation is in Intercom workspace “{ref.app_id}”, but this project is connected to "
            f"“{workspace.name}” ({workspace.workspace_id}). Link conversations of that workspace only."
        )
    return ref


def issue_snapshot_store(target: IssueTarget) -> None:
    if not target.issue_key:
        return
    defaults = {"issue_key": target.issue_key}
    for name in ("project_key", "summary", "status_name", "status_category"):
        if getattr(target, name):
            defaults[name] = getattr(target, name)
    IssueSnapshot.objects.update_or_create(site=target.site, issue_id=target.issue_id, defaults=defaults)


def issue_target_from_jira(site: JiraSite, issue: dict) -> IssueTarget:
    """An IssueTarget from Jira's issue JSON (GET issue, search)."""
    fields = issue.get("fields") or {}
    project = fields.get("project") or {}
    status = fields.get("status") or {}
    return IssueTarget(
        site=site,
        issue_id=str(issue["id"]),
        issue_key=str(issue.get("key") or ""),
        project_key=str(project.get("key") or ""),
        project_id=str(project.get("id") or ""),
        summary=str(fields.get("summary") or ""),
        status_name=str(status.get("name") or ""),
        status_category=str((status.get("statusCategory") or {}).get("key") or ""),
    )


def link_create(
    *,
    target: IssueTarget,
    workspace: IntercomWorkspace,
    conversation_id: str,
    source: str,
    user=None,
    origin: str = "",
    target_type: str = TargetType.CONVERSATION,
    is_tracker: bool = False,
    teammate_id: str = "",
    teammate_name: str = "",
) -> tuple[ConversationLink, bool]:
    """Link a conversation or ticket to an issue; linking again is a no-op that returns the existing link. A
    ticket can be the issue's tracker (`is_tracker`, linking.tracker). A link made from the Intercom Inbox names
    the teammate (`teammate_id`, `teammate_name`) instead of a connector user."""
    existing = _find(target.site, target.issue_id, workspace, conversation_id, target_type)
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            link = ConversationLink.objects.create(
                site=target.site,
                issue_id=target.issue_id,
                issue_key=target.issue_key,
                project_key=target.project_key or project_key_of(target.issue_key),
                workspace=workspace,
                conversation_id=conversation_id,
                target_type=target_type,
                is_tracker=is_tracker,
                source=source,
                origin=origin,
                created_by=user if getattr(user, "is_authenticated", False) else None,
                teammate_id=teammate_id,
                teammate_name=teammate_name,
            )
    except IntegrityError:  # a concurrent request made the same link first (or the issue has a tracker already)
        existing = _find(target.site, target.issue_id, workspace, conversation_id, target_type)
        if existing is None:
            raise LinkError("This issue already has a tracker ticket in that workspace.") from None
        return existing, False
    LinkChange.objects.create(
        site=target.site,
        issue_id=target.issue_id,
        conversation_id=conversation_id,
        kind=LinkChange.Kind.ADDED,
        by_name=link.made_by,
    )
    issue_snapshot_store(target)
    if target_type == TargetType.CONVERSATION:  # tickets have no conversation snapshot (linking/tickets.py)
        snapshots.snapshots_ensure(workspace.pk, [conversation_id])
    snapshots_refresh_soon()
    _after_commit(link, created=True, user=link.created_by, reason=source)
    logger.info("linking.link_created", extra={"link_id": link.pk, "issue": link.issue_key, "source": source})
    return link, True


@dataclass
class BulkItem:
    """One pasted line or API item of a bulk link, and what became of it."""

    index: int
    text: str
    conversation_id: str = ""
    status: str = ""  # "linked", "already_linked" or "error"
    error: str = ""


def links_create_many(
    *, target: IssueTarget, workspace: IntercomWorkspace, texts: list[str], source: str, user=None
) -> list[BulkItem]:
    """Link many conversations to one issue: each item is checked on its own (a bad one is reported, the others
    go ahead), then every new link is made with one INSERT, in the caller's transaction. The Jira side (remote
    links, then the count and property once) and the snapshot reads are recorded for the background on commit.
    """
    items: list[BulkItem] = []
    seen: set[str] = set()
    for index, text in enumerate(texts):
        item = BulkItem(index=index, text=str(text)[:300])
        try:
            ref = conversation_ref_for_workspace(str(text), workspace)
            if ref.target_type != TargetType.CONVERSATION:
                raise LinkError("That is a ticket: link tickets one at a time, from the issue page or /api/links/.")
            item.conversation_id = ref.conversation_id
        except LinkError as exc:
            item.status, item.error = "error", str(exc)
        else:
            if item.conversation_id in seen:
                item.status = "already_linked"  # listed twice: the first one links it
            seen.add(item.conversation_id)
        items.append(item)
    wanted = [item.conversation_id for item in items if not item.status]
    links = ConversationLink.objects.filter(
        site=target.site, issue_id=target.issue_id, workspace=workspace, target_type=TargetType.CONVERSATION
    )
    existing = set(links.filter(conversation_id__in=wanted).values_list("conversation_id", flat=True))
    new_ids = [cid for cid in dict.fromkeys(wanted) if cid not in existing]
    created_by = user if getattr(user, "is_authenticated", False) else None
    project_key = target.project_key or project_key_of(target.issue_key)
    ConversationLink.objects.bulk_create(
        [
            ConversationLink(
                site=target.site, issue_id=target.issue_id, issue_key=target.issue_key, project_key=project_key,
                workspace=workspace, conversation_id=cid, source=source, created_by=created_by,
            )
            for cid in new_ids
        ],
        batch_size=1000,
        ignore_conflicts=True,  # a concurrent request made one of them first: it is linked either way
    )
    made = list(links.filter(conversation_id__in=new_ids).select_related("workspace"))
    made_ids = {link.conversation_id for link in made}
    for item in items:
        if not item.status:
            item.status = "linked" if item.conversation_id in made_ids else "already_linked"
    if not made:
        return items
    LinkChange.objects.bulk_create(
        [LinkChange(site=target.site, issue_id=target.issue_id, conversation_id=cid, kind=LinkChange.Kind.ADDED,
                    by_name=made[0].made_by)
         for cid in made_ids],
        batch_size=1000,
    )
    issue_snapshot_store(target)
    snapshots.snapshots_ensure(workspace.pk, sorted(made_ids))
    snapshots_refresh_soon()
    jira_writes_later_many(
        target.site.pk,
        target.issue_id,
        remote_links=[(link.workspace_id, link.conversation_id) for link in made],
    )
    transaction.on_commit(
        lambda: signals.links_created.send(sender=ConversationLink, links=made, user=created_by, reason=source)
    )
    logger.info("linking.links_created", extra={"issue": target.issue_key, "count": len(made), "source": source})
    return items


def link_delete(*, link: ConversationLink, user=None, reason: str = "unlinked", teammate_name: str = "") -> bool:
    """Unlink; returns False when it was already gone (unlinking twice is harmless). `teammate_name`: the
    Intercom teammate who unlinked from the Inbox."""
    deleted, _ = ConversationLink.objects.filter(pk=link.pk).delete()
    if not deleted:
        return False
    by_name = teammate_name
    if getattr(user, "is_authenticated", False):
        by_name = user.get_full_name() or user.username
    LinkChange.objects.create(
        site_id=link.site_id,
        issue_id=link.issue_id,
        conversation_id=link.conversation_id,
        kind=LinkChange.Kind.REMOVED,
        by_name=by_name,
    )
    _after_commit(
        link,
        created=False,
        user=user,
        reason=reason,
        remove_remote=reason != "issue_deleted",
        teammate_name=teammate_name,
    )
    logger.info("linking.link_removed", extra={"issue": link.issue_key, "conversation": link.conversation_id})
    return True


def _find(site, issue_id, workspace, conversation_id, target_type=TargetType.CONVERSATION) -> ConversationLink | None:
    return ConversationLink.objects.filter(
        site=site, issue_id=issue_id, workspace=workspace, conversation_id=conversation_id, target_type=target_type
    ).first()


def link_target_code(link_or_type, conversation_id: str = "") -> str:
    """How a JiraWrite names a link's remote link: the conversation id as before, "ticket:<id>" for a ticket."""
    if isinstance(link_or_type, ConversationLink):
        link_or_type, conversation_id = link_or_type.target_type, link_or_type.conversation_id
    return conversation_id if link_or_type == TargetType.CONVERSATION else f"{link_or_type}:{conversation_id}"


def _after_commit(
    link: ConversationLink, *, created: bool, user, reason: str, remove_remote: bool = True, teammate_name: str = ""
) -> None:
    site_id, issue_id = link.site_id, link.issue_id
    conversation = {"workspace_id": link.workspace_id, "conversation_id": link_target_code(link)}
    if created:
        jira_write_later(JiraWrite.Kind.REMOTE_LINK_SYNC, site_id=site_id, issue_id=issue_id, **conversation)
    elif remove_remote:
        jira_write_later(JiraWrite.Kind.REMOTE_LINK_REMOVE, site_id=site_id, issue_id=issue_id, **conversation)
    if created or remove_remote:  # a deleted issue has nothing left to update in Jira
        jira_write_later(JiraWrite.Kind.ISSUE_SEARCH_SYNC, site_id=site_id, issue_id=issue_id)
    signal = signals.link_created if created else signals.link_removed
    teammate_name = link.teammate_name if created else teammate_name
    transaction.on_commit(
        lambda: signal.send(sender=ConversationLink, link=link, user=user, reason=reason, teammate_name=teammate_name)
    )


# --- reactions to Jira and Intercom events ------------------------------------------------------------------


def issue_fields_update(target: IssueTarget, *, moved: bool = False) -> None:
    """What a Jira event says about an issue, onto what we hold: the current key on its links (and the project,
    when it moved) and its snapshot (issues without links have none and get none). One UPDATE each, writing only
    rows that differ."""
    if not target.issue_key:
        return
    on_links = {"issue_key": target.issue_key}
    if moved and target.project_key:
        on_links["project_key"] = target.project_key
    ConversationLink.objects.filter(site=target.site, issue_id=target.issue_id).exclude(**on_links).update(**on_links)
    on_snapshot = {"issue_key": target.issue_key}
    for name in ("project_key", "summary", "status_name", "status_category"):
        if getattr(target, name):
            on_snapshot[name] = getattr(target, name)
    IssueSnapshot.objects.filter(site=target.site, issue_id=target.issue_id).exclude(**on_snapshot).update(
        **on_snapshot, updated_at=timezone.now()
    )


def issue_links_drop(*, site: JiraSite, issue_id: str) -> int:
    """The issue was deleted in Jira: its links go too (there is nothing left to update there)."""
    count = 0
    for link in ConversationLink.objects.filter(site=site, issue_id=issue_id).select_related("workspace"):
        count += link_delete(link=link, reason="issue_deleted")
    IssueSnapshot.objects.filter(site=site, issue_id=issue_id).delete()
    return count


def links_mark_missing(*, workspace: IntercomWorkspace, conversation_id: str) -> list[ConversationLink]:
    """The conversation was deleted in Intercom: flag its links (the issue view offers to unlink them)."""
    links = list(
        ConversationLink.objects.filter(
            workspace=workspace, conversation_id=conversation_id, target_type=TargetType.CONVERSATION
        )
    )
    now = timezone.now()
    for link in links:
        if link.health != ConversationLink.Health.MISSING:
            link.health, link.missing_since = ConversationLink.Health.MISSING, now
        link.checked_at = now
        link.save(update_fields=["health", "missing_since", "checked_at"])
        jira_write_later(JiraWrite.Kind.ISSUE_SEARCH_SYNC, site_id=link.site_id, issue_id=link.issue_id)
    return links


def link_mark_found(link: ConversationLink) -> None:
    """A flagged conversation answered again (restored, or a transient outage was mistaken)."""
    was_missing = link.health == ConversationLink.Health.MISSING
    link.health, link.missing_since, link.checked_at = ConversationLink.Health.OK, None, timezone.now()
    link.save(update_fields=["health", "missing_since", "checked_at"])
    if was_missing:
        jira_write_later(JiraWrite.Kind.ISSUE_SEARCH_SYNC, site_id=link.site_id, issue_id=link.issue_id)


def autolink_resolve_later(*, site: JiraSite, issue_id: str, text: str, origin: str) -> None:
    """Server/DC comment events name no project: read the issue in a task (on commit), then auto-link."""
    jira_write_later(
        JiraWrite.Kind.AUTOLINK_RESOLVE, site_id=site.pk, issue_id=issue_id, payload={"text": text, "origin": origin}
    )


def remote_links_refresh(*, workspace_id: int, conversation_id: str) -> int:
    """What a conversation's remote links show changed (read, closed, reopened): ask for their writes again in
    the caller's transaction, so a drain that writes a link after the change commits shows it and one that
    wrote it before is asked again; the drains start on commit. Returns how many links were asked for."""
    links = list(
        ConversationLink.objects.filter(
            workspace_id=workspace_id, conversation_id=conversation_id, target_type=TargetType.CONVERSATION
        ).values_list("site_id", "issue_id")
    )
    for site_id, issue_id in links:
        jira_write_request(JiraWrite.Kind.REMOTE_LINK_SYNC, site_id=site_id, issue_id=issue_id,
                           workspace_id=workspace_id, conversation_id=conversation_id)
    for site_id in {site_id for site_id, _ in links}:
        transaction.on_commit(partial(task_send_quietly, JIRA_DRAIN_TASK, site_id))
    return len(links)


# --- admin editors ----------------------------------------------------------------------------------------


class SearchSettingsError(ValueError):
    """The count field chosen is not one of the site's number custom fields; the message is for the admin."""


def visible_fields_save(
    *,
    workspace: IntercomWorkspace,
    available: dict[str, list[tuple[str, str]]],
    picked: dict[str, list[str]],
    orders: dict[str, dict[str, str | None]],
) -> None:
    """Save the attributes chosen per entity (known ones only, once each), sorted by the order typed next to
    them; those without an order keep the order they were sent in, after the numbered ones."""
    chosen = cards.chosen_fields(workspace)
    for entity in VisibleFields.Entity.values:
        known = {path for path, _ in available[entity]} | set(chosen[entity])
        entity_orders = orders.get(entity) or {}
        ranked: list[tuple[int, str]] = []
        for position, path in enumerate(picked.get(entity) or []):
            if path in known and path not in [p for _, p in ranked]:
                order = _int_or_none(entity_orders.get(path))
                ranked.append((order if order is not None else 1000 + position, path))
        ranked.sort(key=lambda pair: pair[0])
        VisibleFields.objects.update_or_create(
            workspace=workspace, entity=entity, defaults={"fields": [path for _, path in ranked]}
        )


def search_settings_save(
    *, site: JiraSite, field_id: str, number_fields: list[dict], replies_field_id: str = ""
) -> SiteSearchSettings:
    """Choose the count field and the customer replies field ("" for none) and, on commit, start writing every
    linked issue's values."""
    names = {f["id"]: f.get("name", "") for f in number_fields}
    if (field_id and field_id not in names) or (replies_field_id and replies_field_id not in names):
        raise SearchSettingsError("Pick one of the site's number custom fields.")
    if field_id and field_id == replies_field_id:
        raise SearchSettingsError("The link count and the customer replies need two different fields.")
    saved, _ = SiteSearchSettings.objects.update_or_create(
        site=site,
        defaults={
            "count_field_id": field_id,
            "count_field_name": names.get(field_id, ""),
            "replies_field_id": replies_field_id,
            "replies_field_name": names.get(replies_field_id, ""),
        },
    )
    transaction.on_commit(lambda: task_send("linking.tasks.links_reconcile"))
    return saved


COUNT_FIELD_NAME = "Intercom conversations"


def count_field_create(*, site: JiraSite, name: str = COUNT_FIELD_NAME) -> tuple[SiteSearchSettings, str]:
    """Create the count field in Jira (a searchable number field on the default screen) and choose it.
    Returns the settings and a note when the field could not be put on the screen."""
    client = jira_pace.request_client_for(site)
    try:
        field = client.create_number_field(name, "How many Intercom conversations are linked (kept by the connector).")
    except VendorError as exc:
        if exc.status == 403:
            raise SearchSettingsError(
                "Jira refused to create the field (403): creating a custom field needs the Administer Jira global "
                "permission, which the app user should not have. Ask a Jira admin to create a Number field named "
                f"“{name}” (Settings → Issues → Custom fields), add it to the screens, then pick it below."
            ) from None
        raise SearchSettingsError(f"Jira could not create the field: {exc}") from None
    note = ""
    try:
        client.add_field_to_default_screen(field["id"])
    except VendorError as exc:
        note = (f"The field was created but not added to the default screen ({exc}); add “{name}” to the screens "
                "of the connected projects in Jira, or the count cannot be written.")
    return search_settings_save(site=site, field_id=field["id"], number_fields=[field]), note


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- tasks and Jira writes ----------------------------------------------------------------------------------

SNAPSHOT_REFRESH_TASK = "linking.tasks.snapshots_refresh"
JIRA_DRAIN_TASK = "linking.tasks.jira_writes_drain"  # does a site's due JiraWrite rows, paced
# A run holds its write this long; a worker that died mid-call leaves it to the sweeper after that.
JIRA_WRITE_LEASE = timedelta(minutes=5)


def task_send(name: str, *args) -> None:
    """Enqueue a task of this app by its registered name. Unlike send_task, a signature of a registered task
    honours task_always_eager (the tests see the whole effect inline); unregistered, it is sent as is."""
    current_app.signature(name, args=args).apply_async()


def _write_target(kind: str, *, workspace_id: int | None, conversation_id: str, payload: dict | None) -> str:
    if kind in (JiraWrite.Kind.REMOTE_LINK_SYNC, JiraWrite.Kind.REMOTE_LINK_REMOVE):
        return f"{workspace_id}:{conversation_id}"
    if kind == JiraWrite.Kind.AUTOLINK_RESOLVE:
        payload = payload or {}
        digest = hashlib.sha256(str(payload.get("text", "")).encode()).hexdigest()[:16]
        return f"{payload.get('origin', '')}:{digest}"
    return ""


def _write_key(kind: str, *, site_id: int, issue_id: str, workspace_id=None, conversation_id="", payload=None):
    target = _write_target(kind, workspace_id=workspace_id, conversation_id=conversation_id, payload=payload)
    return {"kind": kind, "site_id": site_id, "issue_id": str(issue_id), "target": target}


def task_send_later(name: str, countdown: float, *args) -> None:
    """As task_send, to run after `countdown` seconds (a hint: the row's next_attempt_at is what counts)."""
    current_app.signature(name, args=args).apply_async(countdown=countdown)


def jira_write_request(
    kind: str, *, site_id: int, issue_id: str, workspace_id: int | None = None, conversation_id: str = "",
    payload: dict | None = None,
) -> JiraWrite:
    """Record that a Jira write is wanted now; a pending (or abandoned) request for the same target becomes it.
    A request already due keeps its place in line (the drain takes the longest-due first), so asking again
    never puts a write behind ones asked for after it."""
    now = timezone.now()
    key = _write_key(
        kind, site_id=site_id, issue_id=issue_id, workspace_id=workspace_id, conversation_id=conversation_id,
        payload=payload,
    )
    fields = {"workspace_id": workspace_id, "conversation_id": conversation_id, "payload": payload or {},
              "status": JiraWrite.Status.PENDING, "attempts": 0, "last_error": "", "requested_at": now}
    write, _ = JiraWrite.objects.update_or_create(
        **key,
        defaults={**fields, "next_attempt_at": Least(Coalesce("next_attempt_at", Value(now)), Value(now))},
        create_defaults={**fields, "next_attempt_at": now},
    )
    return write


def task_send_quietly(name: str, *args) -> None:
    """Enqueue a hint; a broker outage only delays the work (beat or the sweeper picks it up)."""
    try:
        task_send(name, *args)
    except (BrokerError, OSError) as exc:
        logger.warning("linking.enqueue_failed", extra={"task": name, "error": type(exc).__name__})


def snapshots_refresh_soon() -> None:
    """Once the caller's transaction commits, start the background refresh (new snapshots are wanted)."""
    transaction.on_commit(lambda: task_send_quietly(SNAPSHOT_REFRESH_TASK))


def jira_write_later(kind: str, **fields) -> None:
    """Once the caller's transaction commits: record the write and enqueue its task. A broker outage only
    delays it: the row is due, and the sweeper enqueues it."""

    def record_and_send():
        write = jira_write_request(kind, **fields)
        task_send_quietly(JIRA_DRAIN_TASK, write.site_id)

    transaction.on_commit(record_and_send)


def jira_writes_later_many(site_id: int, issue_id: str, *, remote_links: list[tuple[int, str]]) -> None:
    """Once the caller's transaction commits: record a remote-link write per conversation and one count and
    property write for the issue (each one pending row per target, so repeats coalesce), and start one drain."""

    def record_and_send():
        now = timezone.now()
        fresh = {"status": JiraWrite.Status.PENDING, "attempts": 0, "next_attempt_at": now, "last_error": "",
                 "requested_at": now, "payload": {}}
        rows = [
            JiraWrite(kind=JiraWrite.Kind.REMOTE_LINK_SYNC, site_id=site_id, issue_id=issue_id,
                      target=f"{workspace_id}:{conversation_id}", workspace_id=workspace_id,
                      conversation_id=conversation_id, **fresh)
            for workspace_id, conversation_id in remote_links
        ]
        rows.append(JiraWrite(kind=JiraWrite.Kind.ISSUE_SEARCH_SYNC, site_id=site_id, issue_id=issue_id, target="",
                              **fresh))
        JiraWrite.objects.bulk_create(
            rows, batch_size=1000, update_conflicts=True, unique_fields=["kind", "site", "issue_id", "target"],
            update_fields=[*fresh, "updated_at"],
        )
        task_send_quietly(JIRA_DRAIN_TASK, site_id)

    transaction.on_commit(record_and_send)


def jira_writes_claim(site_id: int, *, limit: int) -> list[JiraWrite]:
    """Take up to `limit` due writes of a site for one drain, leased like jira_write_claim; rows another drain
    holds are skipped, so two drains never do the same write. Longest due first, but every due count and
    property write in each batch: one per issue, they show the links as the database has them, not only as far
    as the remote links have got."""
    now = timezone.now()
    search_first = Case(When(kind=JiraWrite.Kind.ISSUE_SEARCH_SYNC, then=0), default=1)
    with transaction.atomic():
        writes = list(
            JiraWrite.objects.select_for_update(skip_locked=True)
            .filter(site_id=site_id, status=JiraWrite.Status.PENDING, next_attempt_at__lte=now)
            .order_by(search_first, "next_attempt_at", "pk")[:limit]
        )
        JiraWrite.objects.filter(pk__in=[w.pk for w in writes]).update(
            next_attempt_at=now + JIRA_WRITE_LEASE, updated_at=now
        )
    return writes


def jira_write_claim(
    kind: str, *, site_id: int, issue_id: str, workspace_id: int | None = None, conversation_id: str = "",
    payload: dict | None = None,
) -> JiraWrite | None:
    """Take a write for one run, leased so the sweeper leaves it alone meanwhile. None when it is not due
    (waiting for its next attempt, or running elsewhere). A task that finds no row (called directly, or sent
    before rows existed) records one, so its failures are retried like the others."""
    now = timezone.now()
    key = _write_key(
        kind, site_id=site_id, issue_id=issue_id, workspace_id=workspace_id, conversation_id=conversation_id,
        payload=payload,
    )
    try:
        with transaction.atomic():
            write = JiraWrite.objects.select_for_update().filter(**key).first()
            if write is None:
                return JiraWrite.objects.create(
                    **key,
                    workspace_id=workspace_id,
                    conversation_id=conversation_id,
                    payload=payload or {},
                    next_attempt_at=now + JIRA_WRITE_LEASE,
                    requested_at=now,
                )
            if write.status == JiraWrite.Status.PENDING and write.next_attempt_at and write.next_attempt_at > now:
                return None
            if write.status == JiraWrite.Status.FAILED:  # asked again after giving up: a fresh start
                write.status, write.attempts = JiraWrite.Status.PENDING, 0
            write.next_attempt_at = now + JIRA_WRITE_LEASE
            write.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
            return write
    except IntegrityError:  # another run recorded it first and has it
        return None


def jira_write_done(write: JiraWrite) -> None:
    """The write is done (or has nothing left to do). A request that came in meanwhile keeps the row."""
    JiraWrite.objects.filter(pk=write.pk, requested_at=write.requested_at).delete()


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 600))


def jira_write_failed(write: JiraWrite, exc: VendorError) -> bool:
    """Record a failed attempt: due again after a growing delay (or when Jira said), or given up when it may
    not pass or the attempts are used up. True when it will be tried again."""
    now = timezone.now()
    attempts = write.attempts + 1
    retry = exc.retryable and attempts < settings.JIRA_WRITE_MAX_ATTEMPTS
    next_attempt_at = None
    if retry:
        next_attempt_at = now + _backoff(attempts)
        if exc.retry_at:
            when = datetime.fromtimestamp(exc.retry_at, tz=UTC)
            next_attempt_at = min(max(when, now + timedelta(seconds=1)), now + timedelta(hours=1))
    else:
        logger.warning(
            "linking.task_gave_up",
            extra={"task": write.kind, "write_id": write.pk, "error": str(exc), "kind": exc.kind},
        )
    JiraWrite.objects.filter(pk=write.pk, requested_at=write.requested_at).update(
        status=JiraWrite.Status.PENDING if retry else JiraWrite.Status.FAILED,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        last_error=str(exc)[:2000],
        updated_at=now,
    )
    return retry


def jira_write_purge(*, batch: int = 1000) -> int:
    """Empty the payload (the comment or description text of an auto-link) of writes given up more than
    RETENTION_DAYS ago; the row and its error stay. Writes still pending keep it: they need the text."""
    cutoff = timezone.now() - timedelta(days=settings.RETENTION_DAYS)
    due = JiraWrite.objects.filter(status=JiraWrite.Status.FAILED, updated_at__lt=cutoff).exclude(payload={})
    purged = 0
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:batch]):
        purged += due.filter(pk__in=ids).update(payload={})  # updated_at stays: it says when it gave up
    return purged
