"""Import links from ToolsPlus (issue property `intercom.conversation.links`), idempotently.

Both formats it has used: `{"count": n, "conversationIds": ["1", ...]}` and the legacy `[{"id": "1"}, ...]`;
entries may also be ticket URLs, and `{"ticketIds": [...]}` (ours, linking/jira_sync.py) lists ticket ids.
Each issue's project decides the workspace; what cannot be imported is reported with the reason.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import transaction

from connector.errors import VendorError
from connector.jira_client import JiraClient
from connector.models import JiraSite, ProjectConnection
from linking import jira_pace
from linking.conversation_urls import ConversationRef, ConversationRefError, parse_conversation_ref
from linking.services import issue_target_from_jira, link_create

TOOLSPLUS_PROPERTY = "intercom.conversation.links"
SEARCH_FIELDS = ["summary", "status", "project"]


@dataclass
class ImportReport:
    issues_seen: int = 0
    issues_with_links: int = 0
    created: int = 0
    existing: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (issue key or "KEY #id", reason)


def conversation_ids_from_property(value) -> tuple[list[str], list[str]]:
    """(ids, problems) from either property format; unusable entries become problems, not exceptions."""
    refs, problems = refs_from_property(value)
    return [ref.conversation_id for ref in refs], problems


def refs_from_property(value) -> tuple[list[ConversationRef], list[str]]:
    """(conversation and ticket refs, problems) from either property format."""
    if value is None:
        return [], []
    tickets: list = []
    if isinstance(value, dict):
        raw = value.get("conversationIds")
        tickets = value.get("ticketIds") if isinstance(value.get("ticketIds"), list) else []
        if not isinstance(raw, list) and not tickets:
            return [], ["the property has no conversationIds list"]
        raw = raw if isinstance(raw, list) else []
    elif isinstance(value, list):
        raw = [item.get("id") if isinstance(item, dict) else item for item in value]
    else:
        return [], [f"the property is a {type(value).__name__}, not a ToolsPlus value"]
    refs: list[ConversationRef] = []
    problems: list[str] = []
    for item, kind in [(i, "conversation") for i in raw] + [(i, "ticket") for i in tickets]:
        if isinstance(item, bool) or not isinstance(item, str | int):
            problems.append(f"{str(item)[:40]!r}: not a {kind} id")
            continue
        try:
            ref = parse_conversation_ref(str(item), target_type=kind)
        except ConversationRefError as exc:
            problems.append(f"{str(item)[:40]!r}: {exc}")
            continue
        if all((r.target_type, r.conversation_id) != (ref.target_type, ref.conversation_id) for r in refs):
            refs.append(ref)
    return refs, problems


def _issues(client: JiraClient, jql: str) -> Iterator[dict]:
    token = None
    while True:
        issues, token = client.search(jql, fields=SEARCH_FIELDS, page_token=token, max_results=100)
        yield from issues
        if not token or not issues:
            return


def default_jql(site: JiraSite) -> str:
    keys = sorted(ProjectConnection.objects.filter(site=site).values_list("project_key", flat=True))
    return f"project in ({', '.join(keys)}) ORDER BY key ASC" if keys else ""


def toolsplus_import(
    *, site: JiraSite, jql: str = "", dry_run: bool = False, progress: Callable[[str], None] = lambda _: None
) -> ImportReport:
    client = jira_pace.client_for(site)
    report = ImportReport()
    jql = jql or default_jql(site)
    if not jql:
        report.skipped.append(("—", "no project of this site is connected to an Intercom workspace"))
        return report
    projects = {p.project_id: p for p in ProjectConnection.objects.filter(site=site).select_related("workspace")}
    for issue in _issues(client, jql):
        report.issues_seen += 1
        target = issue_target_from_jira(site, issue)
        label = target.issue_key or f"#{target.issue_id}"
        try:
            value = client.get_property(target.issue_id, TOOLSPLUS_PROPERTY)
        except VendorError as exc:
            report.skipped.append((label, f"Jira did not return the property: {exc}"))
            continue
        ids, problems = refs_from_property(value)
        report.skipped += [(label, problem) for problem in problems]
        if not ids:
            continue
        report.issues_with_links += 1
        project = projects.get(target.project_id) or next(
            (p for p in projects.values() if p.project_key == target.project_key), None
        )
        if project is None:
            report.skipped.append((label, f"project {target.project_key} is not connected to a workspace"))
            continue
        if not project.linking_enabled:
            report.skipped.append((label, f"linking is turned off for project {project.project_key}"))
            continue
        if dry_run:
            progress(f"{label}: would link {len(ids)} conversation(s)")
            continue
        with transaction.atomic():
            for ref in ids:
                _, created = link_create(
                    target=target, workspace=project.workspace, conversation_id=ref.conversation_id,
                    target_type=ref.target_type, source="import",
                )
                report.created += int(created)
                report.existing += int(not created)
        progress(f"{label}: {len(ids)} conversation(s) ({report.issues_seen} issues read)")
    return report
