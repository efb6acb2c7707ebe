"""Celery tasks: every vendor call of the linking app. Each takes ids, re-reads rows, is safe to run twice and
returns quietly when its row is gone.

Jira writes (remote links, count field, issue property, and the issue read before a Server/DC auto-link) are
JiraWrite rows, done in batches by one drain per site at Jira's pace (`jira_writes_drain`); a retryable failure
sets the row's next_attempt_at and the drain (or, later, the sweeper) takes it again then, instead of a countdown
kept only in the broker. The single-write tasks claim their row (recording one if it has none).
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError, VendorErrorKind
from connector.models import IntercomWorkspace, JiraSite
from deliveries.coordination import Lease
from deliveries.engine import due_count
from deliveries.models import TargetType
from linking import autolink, jira_pace, jira_sync, selectors, services, snapshots, tracker, voice
from linking.models import ConversationLink, JiraWrite, remote_link_global_id

logger = logging.getLogger(__name__)
Kind = JiraWrite.Kind


def _write_run(kind: str, perform: Callable[[], object], **key) -> object:
    """Claim the write, perform it, and record the outcome: done (row gone), or failed (retry later or give up)."""
    write = services.jira_write_claim(kind, **key)
    if write is None:  # not due yet, or running elsewhere
        return None
    try:
        result = perform()
    except VendorError as exc:
        services.jira_write_failed(write, exc)
        return None
    services.jira_write_done(write)
    return result


def _link_filter(conversation_id: str) -> dict:
    """The link a JiraWrite's conversation code names: "<id>" a conversation, "ticket:<id>" a ticket."""
    kind, _, ticket_id = conversation_id.partition(":")
    if ticket_id:
        return {"target_type": kind, "conversation_id": ticket_id}
    return {"target_type": "conversation", "conversation_id": conversation_id}


def _remote_link_sync_do(site_id: int, issue_id: str, workspace_id: int, conversation_id: str) -> str | None:
    link = (
        ConversationLink.objects.select_related("site", "workspace")
        .filter(site_id=site_id, issue_id=issue_id, workspace_id=workspace_id, **_link_filter(conversation_id))
        .first()
    )
    if link is None:
        return None
    if link.is_ticket:
        try:
            jira_sync.ticket_remote_link_write(jira_pace.client_for(link.site), link)
        except VendorError as exc:
            if exc.kind == VendorErrorKind.NOT_FOUND:
                return "missing"
            raise
        return "ok"
    # What was last stored: the remote link never waits for Intercom; a refresh that changes what it shows
    # asks for this write again.
    snapshot = snapshots.snapshot_for(link.workspace, link.conversation_id)
    bundle = snapshots.snapshot_bundle(snapshot, link.conversation_id)
    project = project_connection_for(link.site, project_key=link.project_key, issue_key=link.issue_key)
    details = project is not None and project.conversation_view  # the "Conversation view" toggle; fails closed
    try:
        jira_sync.remote_link_write(jira_pace.client_for(link.site), link, bundle, details=details)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:  # the issue is gone; its deletion event drops the link
            return "issue_missing"
        raise
    return "ok"


def _remote_link_remove_do(site_id: int, issue_id: str, workspace_id: int, conversation_id: str) -> str | None:
    target = _link_filter(conversation_id)
    links = ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id, workspace_id=workspace_id, **target)
    if links.exists():
        return "relinked"
    site = JiraSite.objects.filter(pk=site_id).first()
    workspace = IntercomWorkspace.objects.filter(pk=workspace_id).first()
    if site is None or workspace is None:
        return None
    global_id = remote_link_global_id(
        workspace.workspace_id or str(workspace.pk), target["conversation_id"], target["target_type"]
    )
    try:
        jira_pace.client_for(site).delete_remote_link(issue_id, global_id=global_id)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return "issue_missing"
        raise
    return "ok"


def _issue_search_sync_do(site_id: int, issue_id: str) -> int | None:
    site = JiraSite.objects.filter(pk=site_id).first()
    if site is None:
        return None
    try:
        return jira_sync.issue_search_write(jira_pace.client_for(site), site, issue_id)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return None
        raise


def _autolink_resolve_do(site_id: int, issue_id: str, text: str, origin: str) -> list[str] | None:
    site = JiraSite.objects.filter(pk=site_id).first()
    if site is None:
        return None
    try:
        issue = jira_pace.client_for(site).issue(issue_id, fields="summary,status,project")
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return None
        raise
    target = services.issue_target_from_jira(site, issue)
    project = project_connection_for(site, project_id=target.project_id, project_key=target.project_key)
    if project is None:
        return None
    with transaction.atomic():
        return autolink.links_from_text(project=project, target=target, text=text, origin=origin)["linked"]


def _perform(write: JiraWrite) -> object:
    """The work of one recorded write, whatever its kind (the caller claimed it)."""
    if write.kind == Kind.REMOTE_LINK_SYNC:
        return _remote_link_sync_do(write.site_id, write.issue_id, write.workspace_id, write.conversation_id)
    if write.kind == Kind.REMOTE_LINK_REMOVE:
        return _remote_link_remove_do(write.site_id, write.issue_id, write.workspace_id, write.conversation_id)
    if write.kind == Kind.ISSUE_SEARCH_SYNC:
        return _issue_search_sync_do(write.site_id, write.issue_id)
    if write.kind == Kind.CUSTOMER_VOICE:
        return voice.voice_post_for_write(write.site_id, write.issue_id)
    if write.kind == Kind.AUTOLINK_RESOLVE:
        payload = write.payload or {}
        return _autolink_resolve_do(
            write.site_id, write.issue_id, str(payload.get("text", "")), str(payload.get("origin", ""))
        )
    logger.warning("linking.unknown_jira_write", extra={"write_id": write.pk, "kind": write.kind})
    return None


def _run_claimed(write: JiraWrite) -> object:
    """Perform a claimed write and record the outcome: done (row gone), or failed (retry later or give up).
    The run covers every request committed before it starts (it reads what they changed), so one that came
    while the write waited in its batch is not done twice; one that comes during the run keeps the row."""
    write.requested_at = selectors.jira_write_requested_at(write.pk) or write.requested_at
    try:
        result = _perform(write)
    except VendorError as exc:
        services.jira_write_failed(write, exc)
        return None
    services.jira_write_done(write)
    return result


def _remote_link_sync(site_id: int, issue_id: str, workspace_id: int, conversation_id: str) -> str | None:
    natural = {"site_id": site_id, "issue_id": issue_id, "workspace_id": workspace_id,
               "conversation_id": conversation_id}
    return _write_run(Kind.REMOTE_LINK_SYNC, lambda: _remote_link_sync_do(**natural), **natural)


def _remote_link_remove(site_id: int, issue_id: str, workspace_id: int, conversation_id: str) -> str | None:
    natural = {"site_id": site_id, "issue_id": issue_id, "workspace_id": workspace_id,
               "conversation_id": conversation_id}
    return _write_run(Kind.REMOTE_LINK_REMOVE, lambda: _remote_link_remove_do(**natural), **natural)


def _issue_search_sync(site_id: int, issue_id: str) -> int | None:
    return _write_run(
        Kind.ISSUE_SEARCH_SYNC, lambda: _issue_search_sync_do(site_id, issue_id), site_id=site_id, issue_id=issue_id
    )


def _autolink_resolve_issue(site_id: int, issue_id: str, text: str, origin: str) -> list[str] | None:
    payload = {"text": text, "origin": origin}
    return _write_run(
        Kind.AUTOLINK_RESOLVE,
        lambda: _autolink_resolve_do(site_id, issue_id, text, origin),
        site_id=site_id,
        issue_id=issue_id,
        payload=payload,
    )


@shared_task(name="linking.tasks.remote_link_sync")
def remote_link_sync(link_id: int) -> str | None:
    """Create or refresh the Jira remote link of one conversation link (title, state, resolved)."""
    link = ConversationLink.objects.filter(pk=link_id).first()
    if link is None:
        return None
    return _remote_link_sync(link.site_id, link.issue_id, link.workspace_id, services.link_target_code(link))


@shared_task(name="linking.tasks.remote_link_remove")
def remote_link_remove(site_id: int, issue_id: str, workspace_id: int, conversation_id: str) -> str | None:
    """Remove the remote link of an unlinked conversation, unless it was linked again meanwhile."""
    return _remote_link_remove(site_id, issue_id, workspace_id, conversation_id)


@shared_task(name="linking.tasks.issue_search_sync")
def issue_search_sync(site_id: int, issue_id: str) -> int | None:
    """Write the link count into the chosen number field and the linked ids into the issue property."""
    return _issue_search_sync(site_id, issue_id)


@shared_task(name="linking.tasks.autolink_resolve_issue")
def autolink_resolve_issue(site_id: int, issue_id: str, text: str, origin: str) -> list[str] | None:
    """Server/DC comment events name no project: read the issue, then auto-link as usual."""
    return _autolink_resolve_issue(site_id, issue_id, text, origin)


@shared_task(name="linking.tasks.jira_write_run")
def jira_write_run(write_id: int) -> object:
    """Run one recorded Jira write, whatever its kind (the drain does them in batches; this runs just one)."""
    write = selectors.jira_write_get(write_id)
    if write is None:
        return None
    if write.kind == Kind.AUTOLINK_RESOLVE:
        payload = write.payload or {}
        return _autolink_resolve_issue(
            write.site_id, write.issue_id, str(payload.get("text", "")), str(payload.get("origin", ""))
        )
    key = {"site_id": write.site_id, "issue_id": write.issue_id, "workspace_id": write.workspace_id,
           "conversation_id": write.conversation_id}
    return _write_run(write.kind, lambda: _perform(write), **key)


DRAIN_LEASE_SECONDS = 60
DRAIN_BATCH = 500
DRAIN_WAIT_SECONDS = 5.0


@shared_task(name="linking.tasks.jira_writes_drain", bind=True)
def jira_writes_drain(self, site_id: int, max_seconds: float = 240.0) -> int:
    """Do the due Jira writes of one site in batches, several calls in flight, each call waiting for the site's
    pace (linking/jira_pace.py). Remote links of a batch go first, then each issue's count and property once,
    from the links as they are then. One drain per site at a time (a lease); a drain that finds it taken leaves
    the work to the holder, who looks once more after letting go."""
    done = 0
    deadline = time.monotonic() + max_seconds
    lease = Lease(f"linking-jira-drain:{site_id}", DRAIN_LEASE_SECONDS)
    while time.monotonic() < deadline and lease.acquire():
        try:
            while time.monotonic() < deadline:
                writes = services.jira_writes_claim(site_id, limit=DRAIN_BATCH)
                if not writes:
                    # Writes that Jira asked to wait a moment (429 Retry-After) are waited for here, not left
                    # to the sweeper.
                    wait = selectors.jira_write_wait_seconds(site_id)
                    if wait is None or wait > DRAIN_WAIT_SECONDS:
                        break
                    time.sleep(wait)
                    continue
                last = [w for w in writes if w.kind == Kind.ISSUE_SEARCH_SYNC]
                first = [w for w in writes if w.kind != Kind.ISSUE_SEARCH_SYNC]
                for group in (first, last):
                    _run_all(group, sequential=bool(self.request.is_eager))
                done += len(writes)
                lease.renew()
        finally:
            lease.release()
        if not selectors.jira_write_due_count(site_id):
            break
    return done


def _run_all(writes: list[JiraWrite], *, sequential: bool) -> None:
    """Run claimed writes with up to JIRA_WRITE_CONCURRENCY threads (inline when eager: one transaction)."""
    if sequential or len(writes) <= 1:
        for write in writes:
            _run_claimed(write)
        return
    todo: queue.SimpleQueue[JiraWrite] = queue.SimpleQueue()
    for write in writes:
        todo.put(write)

    def worker() -> None:
        try:
            while True:
                try:
                    write = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    _run_claimed(write)
                except Exception:  # a bug or an outage: the claim's lease lets the sweeper retry it
                    logger.exception("linking.jira_write_crashed", extra={"write_id": write.pk})
        finally:
            connection.close()  # this thread's own database connection

    threads = [threading.Thread(target=worker) for _ in range(min(settings.JIRA_WRITE_CONCURRENCY, len(writes)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@shared_task(name="linking.tasks.jira_write_sweep")
def jira_write_sweep() -> int:
    """Periodic: start a drain for every site with Jira writes due for another attempt, or whose drain was lost
    or died. Returns how many writes were due."""
    ids = selectors.jira_write_due_ids()
    for site_id in selectors.jira_write_due_sites(ids):
        services.task_send_quietly(services.JIRA_DRAIN_TASK, site_id)
    return len(ids)


@shared_task(name="linking.tasks.jira_write_purge")
def jira_write_purge() -> int:
    """Periodic: retention for the text kept by auto-links that were given up, and customers' posted replies."""
    return services.jira_write_purge() + voice.customer_reply_purge()


@shared_task(name="linking.tasks.links_reconcile")
def links_reconcile() -> int:
    """Periodic: rewrite count and property of every linked issue, fixing whatever a lost task left behind."""
    pairs = list(ConversationLink.objects.order_by().values_list("site_id", "issue_id").distinct())
    for site_id, issue_id in pairs:
        services.jira_write_request(Kind.ISSUE_SEARCH_SYNC, site_id=site_id, issue_id=issue_id)
    for site_id in {site_id for site_id, _ in pairs}:
        services.task_send_quietly(services.JIRA_DRAIN_TASK, site_id)
    return len(pairs)


@shared_task(name="linking.tasks.link_health_sweep")
def link_health_sweep(batch: int | None = None) -> dict:
    """Periodic and slow: check the links checked longest ago; flag deleted conversations, unflag restored."""
    batch = batch or settings.LINK_HEALTH_BATCH
    stale_before = timezone.now() - timedelta(hours=settings.LINK_HEALTH_MIN_AGE_HOURS)
    links = list(
        ConversationLink.objects.select_related("workspace")
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=stale_before), target_type=TargetType.CONVERSATION)
        .order_by(F("checked_at").asc(nulls_first=True), "id")[:batch]
    )
    result = {"checked": 0, "missing": 0, "restored": 0, "skipped": 0}
    broken_workspaces: set[int] = set()
    for link in links:
        if link.workspace_id in broken_workspaces:
            result["skipped"] += 1
            continue
        try:
            bundle = snapshots.conversation_fetch(link.workspace, link.conversation_id)
        except VendorError:  # no read budget left: notes come first; the next sweep goes on
            broken_workspaces.add(link.workspace_id)
            result["skipped"] += 1
            continue
        snapshot_changed = snapshots.snapshot_store(link.workspace, bundle)[1]
        if bundle.problem == "unreachable":  # never flag on an outage; try again next sweep
            broken_workspaces.add(link.workspace_id)
            result["skipped"] += 1
            continue
        result["checked"] += 1
        with transaction.atomic():
            if bundle.problem == "deleted":
                was_ok = link.health == ConversationLink.Health.OK
                services.links_mark_missing(workspace=link.workspace, conversation_id=link.conversation_id)
                result["missing"] += int(was_ok)
            else:
                result["restored"] += int(link.health == ConversationLink.Health.MISSING)
                services.link_mark_found(link)
            if snapshot_changed:
                services.remote_links_refresh(workspace_id=link.workspace_id, conversation_id=link.conversation_id)
    return result


SNAPSHOT_LEASE_SECONDS = 120


@shared_task(name="linking.tasks.snapshots_refresh")
def snapshots_refresh(batch: int | None = None, max_seconds: float = 60.0) -> dict:
    """Periodic, and enqueued when snapshots are asked for: read the conversations whose snapshots are wanted
    or old, with rate-limit budget notes do not need. A workspace with notes waiting, or whose read budget
    for this window is used, is left for the next run. One run at a time (a lease)."""
    lease = Lease("linking-snapshots-refresh", SNAPSHOT_LEASE_SECONDS)
    if not lease.acquire():
        return {"skipped": "another refresh is running"}
    result = {"read": 0, "deferred": 0}
    deadline = timezone.now() + timedelta(seconds=max_seconds)
    try:
        snapshots.snapshots_ensure_for_links(limit=batch or settings.SNAPSHOT_REFRESH_BATCH)
        paused: set[int] = set()
        while timezone.now() < deadline:
            stale_before = timezone.now() - timedelta(seconds=settings.SNAPSHOT_MAX_AGE_SECONDS)
            due = snapshots.snapshots_due(stale_before=stale_before, limit=batch or settings.SNAPSHOT_REFRESH_BATCH)
            due = [s for s in due if s.workspace_id not in paused]
            if not due:
                break
            for snapshot in due:
                if snapshot.workspace_id in paused:
                    continue
                if not _snapshot_refresh(snapshot):
                    paused.add(snapshot.workspace_id)
                    result["deferred"] += 1
                    continue
                result["read"] += 1
                lease.renew()
    finally:
        lease.release()
    return result


def _snapshot_refresh(snapshot) -> bool:
    """Read one conversation and store it; False when its workspace has no budget for reads now."""
    workspace = snapshot.workspace
    if not workspace.is_usable or due_count(workspace.pk, 1):  # notes are waiting: they get the budget
        return False
    try:
        bundle = snapshots.conversation_fetch(workspace, snapshot.conversation_id)
    except VendorError:
        return False
    with transaction.atomic():
        _, changed = snapshots.snapshot_store(workspace, bundle)
        if changed:
            services.remote_links_refresh(workspace_id=workspace.pk, conversation_id=snapshot.conversation_id)
    return True


@shared_task(name="linking.tasks.remote_links_refresh_for_conversation")
def remote_links_refresh_for_conversation(workspace_id: int, conversation_id: str) -> int:
    """Kept for messages queued by an earlier version: the change now asks for the writes itself."""
    with transaction.atomic():
        return services.remote_links_refresh(workspace_id=workspace_id, conversation_id=conversation_id)


# --- tracker tickets (linking/tracker.py) ---------------------------------------------------------------------


@shared_task(name="linking.tasks.tracker_adopt")
def tracker_adopt(delivery_id: int, ticket_id: str) -> int | None:
    """The engine created a tracker ticket: link it to its issue as the tracker."""
    link = tracker.tracker_adopt(delivery_id=delivery_id, ticket_id=ticket_id)
    return link.pk if link else None


@shared_task(name="linking.tasks.tracker_auto_create")
def tracker_auto_create(link_id: int) -> int | None:
    """An issue got a link: create its tracker ticket when the project wants one made automatically."""
    link = ConversationLink.objects.select_related("site", "workspace").filter(pk=link_id).first()
    if link is None:
        return None
    delivery = tracker.tracker_auto_create(link)
    return delivery.pk if delivery else None


@shared_task(name="linking.tasks.tracker_refresh")
def tracker_refresh(link_id: int) -> dict | None:
    """Mirror one tracker ticket's linked conversations and tickets as links of its issue."""
    link = ConversationLink.objects.select_related("site", "workspace").filter(pk=link_id, is_tracker=True).first()
    if link is None or not link.workspace.is_usable:
        return None
    try:
        return tracker.tracker_refresh(link)
    except VendorError as exc:  # the next round tries again
        logger.warning("linking.tracker_refresh_failed", extra={"link_id": link_id, "error": str(exc)})
        return None


@shared_task(name="linking.tasks.trackers_refresh")
def trackers_refresh() -> int:
    """Periodic: refresh every tracker ticket's mirror (each call within the workspace's rate limit)."""
    ids = tracker.tracker_links()
    for link_id in ids:
        tracker_refresh.delay(link_id)
    return len(ids)


# --- the customer's voice (linking/voice.py) -------------------------------------------------------------------


@shared_task(name="linking.tasks.customer_voice_post")
def customer_voice_post(site_id: int, issue_id: str) -> str | None:
    """Post the issue's waiting customer replies as one Jira comment, once its window has passed."""
    return _write_run(
        Kind.CUSTOMER_VOICE, lambda: voice.voice_post_for_write(site_id, issue_id), site_id=site_id, issue_id=issue_id
    )
