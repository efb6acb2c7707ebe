"""Celery tasks: every vendor call of the linking app. Each takes ids, re-reads rows, is safe to run twice and
returns quietly when its row is gone."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError, VendorErrorKind
from connector.jira_client import JiraClient
from connector.models import IntercomWorkspace, JiraSite
from linking import jira_sync, services
from linking.models import ConversationLink, remote_link_global_id
from linking.snapshots import conversation_bundle

logger = logging.getLogger(__name__)


def _retry_later(task, exc: VendorError):
    """Retry what may pass (rate limits, outages) with a growing delay; give up on the rest, loudly in logs."""
    if not exc.retryable or task.request.retries >= task.max_retries:
        logger.warning("linking.task_gave_up", extra={"task": task.name, "error": str(exc), "kind": exc.kind})
        return None
    countdown = 10 * 2**task.request.retries
    if exc.retry_at:
        countdown = max(1, int(exc.retry_at - timezone.now().timestamp()))
    raise task.retry(countdown=min(countdown, 600), exc=exc)


@shared_task(bind=True, name="linking.tasks.remote_link_sync", max_retries=5)
def remote_link_sync(self, link_id: int) -> str | None:
    """Create or refresh the Jira remote link of one conversation link (title, state, resolved)."""
    link = ConversationLink.objects.select_related("site", "workspace").filter(pk=link_id).first()
    if link is None:
        return None
    bundle = conversation_bundle(link.workspace, link.conversation_id, fresh=True)
    if bundle.problem == "unreachable":
        return _retry_later(self, VendorError(bundle.message or "Intercom unreachable", kind=VendorErrorKind.TRANSIENT))
    try:
        jira_sync.remote_link_write(JiraClient.for_site(link.site), link, bundle)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:  # the issue is gone; its deletion event drops the link
            return "issue_missing"
        return _retry_later(self, exc)
    return "ok"


@shared_task(bind=True, name="linking.tasks.remote_link_remove", max_retries=5)
def remote_link_remove(self, site_id: int, issue_id: str, workspace_id: int, conversation_id: str) -> str | None:
    """Remove the remote link of an unlinked conversation, unless it was linked again meanwhile."""
    if ConversationLink.objects.filter(
        site_id=site_id, issue_id=issue_id, workspace_id=workspace_id, conversation_id=conversation_id
    ).exists():
        return "relinked"
    site = JiraSite.objects.filter(pk=site_id).first()
    workspace = IntercomWorkspace.objects.filter(pk=workspace_id).first()
    if site is None or workspace is None:
        return None
    global_id = remote_link_global_id(workspace.workspace_id or str(workspace.pk), conversation_id)
    try:
        JiraClient.for_site(site).delete_remote_link(issue_id, global_id=global_id)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return "issue_missing"
        return _retry_later(self, exc)
    return "ok"


@shared_task(bind=True, name="linking.tasks.issue_search_sync", max_retries=5)
def issue_search_sync(self, site_id: int, issue_id: str) -> int | None:
    """Write the link count into the chosen number field and the linked ids into the issue property."""
    site = JiraSite.objects.filter(pk=site_id).first()
    if site is None:
        return None
    try:
        return jira_sync.issue_search_write(JiraClient.for_site(site), site, issue_id)
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return None
        return _retry_later(self, exc)


@shared_task(name="linking.tasks.links_reconcile")
def links_reconcile() -> int:
    """Periodic: rewrite count and property of every linked issue, fixing whatever a lost task left behind."""
    pairs = list(ConversationLink.objects.order_by().values_list("site_id", "issue_id").distinct())
    for site_id, issue_id in pairs:
        issue_search_sync.delay(site_id, issue_id)
    return len(pairs)


@shared_task(name="linking.tasks.link_health_sweep")
def link_health_sweep(batch: int | None = None) -> dict:
    """Periodic and slow: check the links checked longest ago; flag deleted conversations, unflag restored."""
    batch = batch or settings.LINK_HEALTH_BATCH
    stale_before = timezone.now() - timedelta(hours=settings.LINK_HEALTH_MIN_AGE_HOURS)
    links = list(
        ConversationLink.objects.select_related("workspace")
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=stale_before))
        .order_by(F("checked_at").asc(nulls_first=True), "id")[:batch]
    )
    result = {"checked": 0, "missing": 0, "restored": 0, "skipped": 0}
    broken_workspaces: set[int] = set()
    for link in links:
        if link.workspace_id in broken_workspaces:
            result["skipped"] += 1
            continue
        bundle = conversation_bundle(link.workspace, link.conversation_id, fresh=True)
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
    return result


@shared_task(name="linking.tasks.remote_links_refresh_for_conversation")
def remote_links_refresh_for_conversation(workspace_id: int, conversation_id: str) -> int:
    """A conversation closed or reopened: refresh the resolved flag of its remote links."""
    ids = list(
        ConversationLink.objects.filter(workspace_id=workspace_id, conversation_id=conversation_id).values_list(
            "pk", flat=True
        )
    )
    for link_id in ids:
        remote_link_sync.delay(link_id)
    return len(ids)


@shared_task(bind=True, name="linking.tasks.autolink_resolve_issue", max_retries=5)
def autolink_resolve_issue(self, site_id: int, issue_id: str, text: str, origin: str) -> list[str] | None:
    """Server/DC comment events name no project: read the issue, then auto-link as usual."""
    from linking import autolink

    site = JiraSite.objects.filter(pk=site_id).first()
    if site is None:
        return None
    try:
        issue = JiraClient.for_site(site).issue(issue_id, fields="summary,status,project")
    except VendorError as exc:
        if exc.kind == VendorErrorKind.NOT_FOUND:
            return None
        return _retry_later(self, exc)
    target = services.issue_target_from_jira(site, issue)
    project = project_connection_for(site, project_id=target.project_id, project_key=target.project_key)
    if project is None:
        return None
    with transaction.atomic():
        return autolink.links_from_text(project=project, target=target, text=text, origin=origin)["linked"]
