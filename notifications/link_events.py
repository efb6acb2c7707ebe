"""Notes for "conversation linked / unlinked": one delivery into the one conversation concerned."""

import logging

from django.db import transaction

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError
from connector.jira_events.extract import issue_ref
from connector.jira_events.types import IssueRef
from connector.models import JiraSite
from deliveries.models import TICKET_ONLY, Delivery, TargetType
from deliveries.services import delivery_create, pumps_start_on_commit
from linking import jira_pace
from linking.selectors import link_count
from notifications.context import event_context
from notifications.matching import LinkEvent, rules_for_event
from notifications.planning import delivery_key_prefix, planned_actions, rules_for

logger = logging.getLogger(__name__)
ISSUE_FIELDS = "summary,status,assignee,reporter,issuetype,priority,labels,project,resolution,fixVersions"


def _issue(site: JiraSite, link: dict) -> IssueRef:
    """The issue as Jira has it now (for the template); just the key when Jira cannot be asked."""
    try:
        issue = jira_pace.client_for(site).issue(link["issue_id"], fields=ISSUE_FIELDS)
        return issue_ref(issue, site_url=site.base_url)
    except VendorError as exc:
        logger.warning("link_event.issue_unavailable", extra={"issue_id": link["issue_id"], "error": exc.kind})
        return IssueRef(
            id=link["issue_id"],
            key=link["issue_key"],
            browse_url=f"{site.base_url.rstrip('/')}/browse/{link['issue_key']}",
        )


def plan_link_events(*, kind: str, links: list[dict], actor_name: str = "") -> int:
    """The same for many links (bulk linking), reading each issue from Jira once rather than once per link."""
    issues: dict[tuple, IssueRef | None] = {}
    created = 0
    for link in links:
        key = (link["site_id"], link["issue_id"])
        if key not in issues:
            issues[key] = _issue_with_rules(kind, link)
        if issues[key] is not None:
            created += plan_link_event(kind=kind, link=link, actor_name=actor_name, issue=issues[key])
    return created


def _issue_with_rules(kind: str, link: dict) -> IssueRef | None:
    """The issue of a bulk link, or None when no enabled rule of its project is for this kind of link event
    (then none of its links plans anything, and each is not looked at on its own)."""
    site = JiraSite.objects.filter(pk=link["site_id"]).first()
    if site is None:
        return None
    issue = _issue(site, link)
    project = project_connection_for(
        site, project_id=issue.project_id, project_key=issue.project_key, issue_key=issue.key
    )
    return issue if any(rule.trigger == kind for rule in rules_for(project)) else None


def plan_link_event(
    *, kind: str, link: dict, actor_name: str = "", teammate_name: str = "", issue: IssueRef | None = None
) -> int:
    """`teammate_name`: the Intercom teammate who linked or unlinked from the Inbox, kept on the deliveries;
    `issue`: the issue as Jira has it, when the caller read it already."""
    site = JiraSite.objects.filter(pk=link["site_id"]).first()
    if site is None:
        return 0
    issue = issue or _issue(site, link)
    event = LinkEvent(
        kind=kind,
        issue=issue,
        conversation_id=link["conversation_id"],
        actor_name=actor_name,
        dedupe_key=f"{kind}:{link['workspace_id']}:{link['conversation_id']}:{link.get('link_id')}",
    )
    project = project_connection_for(
        site, project_id=issue.project_id, project_key=issue.project_key, issue_key=issue.key
    )
    fired = rules_for_event(rules_for(project), event)
    if not fired:
        return 0
    context = event_context(event, links_count=link_count(site.pk, issue.id))
    created = 0
    with transaction.atomic():
        for rule in fired:
            for index, action_type, params, body, status, error in planned_actions(rule, context, project, event):
                if action_type in TICKET_ONLY and link.get("target_type") != TargetType.TICKET:
                    continue
                _, made = delivery_create(
                    idempotency_key=delivery_key_prefix(site.pk, event.dedupe_key, rule.pk, index, action_type),
                    start_pump=False,
                    source=Delivery.Source.RULE,
                    rule=rule,
                    workspace_id=link["workspace_id"],
                    conversation_id=link["conversation_id"],
                    target_type=link.get("target_type") or TargetType.CONVERSATION,
                    issue_id=issue.id,
                    issue_key=issue.key or "",
                    action=action_type,
                    params=params,
                    body=body,
                    status=status,
                    last_error=error,
                    requested_by_name=teammate_name,
                )
                created += made
        if created:
            pumps_start_on_commit([link["workspace_id"]])
    return created
