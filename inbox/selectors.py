"""Reads for the Inbox app: a workspace's connected projects, the issues linked to a conversation (as Jira has
them now), and the search for an issue to link. Every Jira call has the Inbox's short timeout."""

import re
from dataclasses import dataclass

from django.conf import settings

from connector.errors import VendorError
from connector.jira_client import JiraClient
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from deliveries.models import TargetType
from inbox.models import CreateIssueForm
from linking import jira_pace
from linking.models import ConversationLink, IssueSnapshot
from linking.services import IssueTarget, issue_target_from_jira

ISSUE_FIELDS = ["summary", "status", "assignee", "project"]
MAX_LINKS_SHOWN = 20
MAX_RESULTS = 10
ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")


def inbox_jira(site: JiraSite) -> JiraClient:
    """A Jira client that gives up in time for Intercom to show our answer."""
    return jira_pace.request_client_for(site, timeout=settings.INBOX_VENDOR_TIMEOUT_SECONDS)


def browse_url(site: JiraSite, key: str) -> str:
    return f"{site.base_url.rstrip('/')}/browse/{key}"


def projects_for_workspace(workspace: IntercomWorkspace) -> list[ProjectConnection]:
    """The projects connected to the workspace with linking on, in key order."""
    return list(
        ProjectConnection.objects.filter(workspace=workspace, linking_enabled=True)
        .select_related("site", "workspace")
        .order_by("project_key", "pk")
    )


def create_form_for(project: ProjectConnection) -> CreateIssueForm:
    """The admin's form for the project, or an unsaved empty one (summary and description only)."""
    return CreateIssueForm.objects.filter(project=project).first() or CreateIssueForm(project=project)


@dataclass
class LinkedIssue:
    link: ConversationLink
    key: str
    summary: str
    status_name: str
    status_category: str  # Jira's status category key: new, indeterminate, done ("" when unknown)
    assignee: str
    url: str


@dataclass
class LinkedIssues:
    issues: list[LinkedIssue]
    more: int = 0  # links not shown (a canvas holds 64 KB)
    problem: str = ""  # why the issues show what the connector last knew instead of what Jira says now


def linked_issues(workspace: IntercomWorkspace, conversation_id: str) -> LinkedIssues:
    links = list(
        ConversationLink.objects.filter(
            workspace=workspace, target_type=TargetType.CONVERSATION, conversation_id=conversation_id
        )
        .select_related("site", "created_by")
        .order_by("created_at", "id")
    )
    shown, more = links[:MAX_LINKS_SHOWN], max(0, len(links) - MAX_LINKS_SHOWN)
    fresh: dict[tuple[int, str], dict] = {}
    problem = ""
    for site in {link.site for link in shown}:
        ids = [link.issue_id for link in shown if link.site_id == site.pk]
        try:
            issues, _ = inbox_jira(site).search(
                f"id in ({', '.join(ids)})", fields=ISSUE_FIELDS, max_results=MAX_LINKS_SHOWN
            )
        except VendorError as exc:
            problem = f"Jira at {site.base_url} did not answer ({exc}); this is what the connector last knew."
            continue
        fresh.update({(site.pk, str(issue["id"])): issue for issue in issues})
    snapshots = {
        (s.site_id, s.issue_id): s
        for s in IssueSnapshot.objects.filter(issue_id__in=[link.issue_id for link in shown])
    }
    return LinkedIssues([_linked(link, fresh, snapshots) for link in shown], more=more, problem=problem)


def _linked(link: ConversationLink, fresh: dict, snapshots: dict) -> LinkedIssue:
    issue = fresh.get((link.site_id, link.issue_id))
    if issue is not None:
        fields = issue.get("fields") or {}
        status = fields.get("status") or {}
        return LinkedIssue(
            link=link,
            key=str(issue.get("key") or link.issue_key),
            summary=str(fields.get("summary") or ""),
            status_name=str(status.get("name") or ""),
            status_category=str((status.get("statusCategory") or {}).get("key") or ""),
            assignee=str((fields.get("assignee") or {}).get("displayName") or ""),
            url=browse_url(link.site, str(issue.get("key") or link.issue_key)),
        )
    snapshot = snapshots.get((link.site_id, link.issue_id))
    return LinkedIssue(
        link=link,
        key=link.issue_key,
        summary=snapshot.summary if snapshot else "",
        status_name=snapshot.status_name if snapshot else "",
        status_category=snapshot.status_category if snapshot else "",
        assignee="",
        url=browse_url(link.site, link.issue_key),
    )


def _jql_words(query: str) -> str:
    return re.sub(r'["\\]', " ", query).strip()


def issue_search(workspace: IntercomWorkspace, query: str) -> list[IssueTarget]:
    """Issues of the workspace's connected projects that the Jira app user can browse, by key or by words;
    raises VendorError when Jira does not answer."""
    query = query.strip()
    by_site: dict[int, list[ProjectConnection]] = {}
    for project in projects_for_workspace(workspace):
        by_site.setdefault(project.site_id, []).append(project)
    found: list[IssueTarget] = []
    for projects in by_site.values():
        site = projects[0].site
        keys = ", ".join(f'"{p.project_key}"' for p in projects)
        clause = f"key = {query.upper()}" if ISSUE_KEY.match(query) else f'text ~ "{_jql_words(query)}"'
        issues, _ = inbox_jira(site).search(
            f"project in ({keys}) AND {clause} ORDER BY updated DESC", fields=ISSUE_FIELDS, max_results=MAX_RESULTS
        )
        found += [issue_target_from_jira(site, issue) for issue in issues]
    return found[:MAX_RESULTS]


def issue_read(site: JiraSite, issue_id: str) -> IssueTarget:
    """The issue as the app user sees it now; raises VendorError (not_found when it may not browse it)."""
    return issue_target_from_jira(site, inbox_jira(site).issue(issue_id, fields=",".join(ISSUE_FIELDS)))
