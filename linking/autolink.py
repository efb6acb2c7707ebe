"""Auto-link: conversation URLs written in an issue's description or comments become links.

Only URLs of the project's own workspace count. Removing a URL from the description undoes only the link
that this description made; links made on the issue page, by the API, the Inbox or another comment stay.
"""

import json
import logging

from connector.models import ProjectConnection
from linking.conversation_urls import find_conversation_refs
from linking.models import ConversationLink
from linking.services import IssueTarget, link_create, link_delete

logger = logging.getLogger(__name__)


def text_of(value) -> str:
    """Wiki text as is; an ADF document as JSON, so link marks and inline cards keep their URLs."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _ids_for(project: ProjectConnection, text: str) -> list[str]:
    code = (project.workspace.workspace_id or "").lower()
    ids = []
    for ref in find_conversation_refs(text):
        if code and ref.app_id != code:
            logger.info("linking.autolink_other_workspace", extra={"app_id": ref.app_id, "project": project.pk})
            continue
        ids.append(ref.conversation_id)
    return ids


def autolink_allowed(project: ProjectConnection | None) -> bool:
    return bool(project and project.linking_enabled and project.auto_link_urls)


def links_from_text(
    *, project: ProjectConnection, target: IssueTarget, text: str, origin: str, previous_text: str | None = None
) -> dict[str, list[str]]:
    """Link every conversation URL in `text`; with `previous_text`, unlink URLs removed since, if this origin
    made their link. Returns the conversation ids linked and unlinked."""
    result: dict[str, list[str]] = {"linked": [], "unlinked": []}
    if not autolink_allowed(project):
        return result
    now_ids = _ids_for(project, text)
    for conversation_id in now_ids:
        _, created = link_create(
            target=target, workspace=project.workspace, conversation_id=conversation_id, source="url", origin=origin
        )
        if created:
            result["linked"].append(conversation_id)
    if previous_text is not None:
        gone = set(_ids_for(project, previous_text)) - set(now_ids)
        for link in ConversationLink.objects.filter(
            site=target.site,
            issue_id=target.issue_id,
            workspace=project.workspace,
            conversation_id__in=gone,
            source=ConversationLink.Source.URL,
            origin=origin,
        ):
            if link_delete(link=link, reason="url_removed"):
                result["unlinked"].append(link.conversation_id)
    return result


def links_of_removed_comment(*, target: IssueTarget, comment_id: str) -> list[str]:
    """A deleted comment takes away the links it made (and only those)."""
    removed = []
    for link in ConversationLink.objects.filter(
        site=target.site, issue_id=target.issue_id, source=ConversationLink.Source.URL, origin=f"comment:{comment_id}"
    ):
        if link_delete(link=link, reason="url_removed"):
            removed.append(link.conversation_id)
    return removed
