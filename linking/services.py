"""Writes: link and unlink, keep keys current, drop links of deleted issues, flag deleted conversations.

Every change records a LinkChange row and, once committed, enqueues the Jira-side updates (remote link,
count field, issue property) and sends the link_created / link_removed signals.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from connector.jira_events import project_key_of
from connector.models import IntercomWorkspace, JiraSite
from linking import signals
from linking.conversation_urls import ConversationRef, ConversationRefError, parse_conversation_ref
from linking.models import ConversationLink, IssueSnapshot, LinkChange

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


def conversation_ref_for_workspace(text: str, workspace: IntercomWorkspace) -> ConversationRef:
    """Parse pasted text and make sure it names a conversation of this workspace."""
    try:
        ref = parse_conversation_ref(text)
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


def issue_snapshot_refresh(target: IssueTarget) -> None:
    """Refresh what reports show about an issue that has links; issues without links are not tracked."""
    if IssueSnapshot.objects.filter(site=target.site, issue_id=target.issue_id).exists():
        issue_snapshot_store(target)


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
) -> tuple[ConversationLink, bool]:
    """Link a conversation to an issue; linking again is a no-op that returns the existing link."""
    existing = _find(target.site, target.issue_id, workspace, conversation_id)
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
                source=source,
                origin=origin,
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
    except IntegrityError:  # a concurrent request made the same link first
        return _find(target.site, target.issue_id, workspace, conversation_id), False
    LinkChange.objects.create(
        site=target.site, issue_id=target.issue_id, conversation_id=conversation_id, kind=LinkChange.Kind.ADDED
    )
    issue_snapshot_store(target)
    _after_commit(link, created=True, user=link.created_by, reason=source)
    logger.info("linking.link_created", extra={"link_id": link.pk, "issue": link.issue_key, "source": source})
    return link, True


def link_delete(*, link: ConversationLink, user=None, reason: str = "unlinked") -> bool:
    """Unlink; returns False when it was already gone (unlinking twice is harmless)."""
    deleted, _ = ConversationLink.objects.filter(pk=link.pk).delete()
    if not deleted:
        return False
    LinkChange.objects.create(
        site_id=link.site_id,
        issue_id=link.issue_id,
        conversation_id=link.conversation_id,
        kind=LinkChange.Kind.REMOVED,
    )
    _after_commit(link, created=False, user=user, reason=reason, remove_remote=reason != "issue_deleted")
    logger.info("linking.link_removed", extra={"issue": link.issue_key, "conversation": link.conversation_id})
    return True


def _find(site, issue_id, workspace, conversation_id) -> ConversationLink | None:
    return ConversationLink.objects.filter(
        site=site, issue_id=issue_id, workspace=workspace, conversation_id=conversation_id
    ).first()


def _after_commit(link: ConversationLink, *, created: bool, user, reason: str, remove_remote: bool = True) -> None:
    from linking import tasks

    site_id, issue_id = link.site_id, link.issue_id
    if created:
        link_id = link.pk
        transaction.on_commit(lambda: tasks.remote_link_sync.delay(link_id))
    elif remove_remote:
        args = (site_id, issue_id, link.workspace_id, link.conversation_id)
        transaction.on_commit(lambda: tasks.remote_link_remove.delay(*args))
    if created or remove_remote:  # a deleted issue has nothing left to update in Jira
        transaction.on_commit(lambda: tasks.issue_search_sync.delay(site_id, issue_id))
    signal = signals.link_created if created else signals.link_removed
    transaction.on_commit(lambda: signal.send(sender=ConversationLink, link=link, user=user, reason=reason))


# --- reactions to Jira and Intercom events ------------------------------------------------------------------


def issue_key_update(*, site: JiraSite, issue_id: str, issue_key: str, project_key: str = "") -> int:
    """Keep the current key (and project) on every link of a moved issue."""
    if not issue_key:
        return 0
    fields = {"issue_key": issue_key}
    if project_key:
        fields["project_key"] = project_key
    changed = (
        ConversationLink.objects.filter(site=site, issue_id=issue_id).exclude(issue_key=issue_key).update(**fields)
    )
    IssueSnapshot.objects.filter(site=site, issue_id=issue_id).update(**fields)
    return changed


def issue_links_drop(*, site: JiraSite, issue_id: str) -> int:
    """The issue was deleted in Jira: its links go too (there is nothing left to update there)."""
    count = 0
    for link in ConversationLink.objects.filter(site=site, issue_id=issue_id).select_related("workspace"):
        count += link_delete(link=link, reason="issue_deleted")
    IssueSnapshot.objects.filter(site=site, issue_id=issue_id).delete()
    return count


def links_mark_missing(*, workspace: IntercomWorkspace, conversation_id: str) -> list[ConversationLink]:
    """The conversation was deleted in Intercom: flag its links (the issue view offers to unlink them)."""
    from linking import tasks

    links = list(ConversationLink.objects.filter(workspace=workspace, conversation_id=conversation_id))
    now = timezone.now()
    for link in links:
        if link.health != ConversationLink.Health.MISSING:
            link.health, link.missing_since = ConversationLink.Health.MISSING, now
        link.checked_at = now
        link.save(update_fields=["health", "missing_since", "checked_at"])
        args = (link.site_id, link.issue_id)
        transaction.on_commit(lambda args=args: tasks.issue_search_sync.delay(*args))
    return links


def link_mark_found(link: ConversationLink) -> None:
    """A flagged conversation answered again (restored, or a transient outage was mistaken)."""
    from linking import tasks

    was_missing = link.health == ConversationLink.Health.MISSING
    link.health, link.missing_since, link.checked_at = ConversationLink.Health.OK, None, timezone.now()
    link.save(update_fields=["health", "missing_since", "checked_at"])
    if was_missing:
        args = (link.site_id, link.issue_id)
        transaction.on_commit(lambda: tasks.issue_search_sync.delay(*args))
