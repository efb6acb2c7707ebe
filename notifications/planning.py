"""Where a Jira event becomes notes: match rules, render each note once, and have deliveries write one row per
reachable linked conversation (one INSERT … SELECT, whatever the number of links; planning twice adds nothing).
"""

import hashlib
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from connector.connections.selectors import project_connection_for
from connector.jira_events import FieldsChanged, IssueMoved, IssueTransitioned
from connector.models import ProjectConnection
from deliveries.models import RULE_ACTIONS, Action, Delivery, TargetType
from deliveries.services import delivery_create, delivery_create_for_links
from linking.selectors import IssueLinks, issue_links, link_list_reachable
from linking.tracker import support_settings, tracker_links_of
from linking.voice import is_customer_voice_comment
from notifications.context import event_context
from notifications.matching import rules_for_event
from notifications.models import IN_ALL_PROJECTS, NotificationRule
from notifications.placeholders import DEFAULT_TEMPLATES
from notifications.rendering import TemplateRenderError, render_note
from notifications.ticket_actions import event_status, state_category_for, ticket_action_params

MESSAGE_ACTIONS = {Action.NOTE, Action.REPLY}


def rules_for(project: ProjectConnection | None):
    scope = IN_ALL_PROJECTS | Q(project=project) if project else IN_ALL_PROJECTS
    return list(NotificationRule.objects.filter(scope, enabled=True).order_by("position", "id"))


def render_body(rule: NotificationRule, context: dict) -> tuple[str, str]:
    """(body, error): a template that fails to render is recorded on the delivery, never silently dropped."""
    template = rule.template or DEFAULT_TEMPLATES.get(rule.trigger, "")
    try:
        return render_note(template, context), ""
    except TemplateRenderError as exc:
        return "", f"The rule's template could not be rendered: {exc}"


def planned_actions(rule: NotificationRule, context: dict, project: ProjectConnection | None, event=None):
    """(index, kind, params, body, status, error) for each known action of a rule that fired. Ticket actions
    take their values from the event (`ticket_actions`); one the event gives nothing to set is left out."""
    for index, action in enumerate(rule.actions):
        kind = action.get("type")
        if kind not in RULE_ACTIONS:
            continue
        options = {k: v for k, v in action.items() if k != "type"}
        if kind in (Action.TICKET_STATE, Action.TICKET_ATTRIBUTE):
            options = ticket_action_params(kind, options, event) if event is not None else None
            if options is None:
                continue
        body, error = render_body(rule, context) if kind in MESSAGE_ACTIONS else ("", "")
        status = Delivery.Status.FAILED if error else Delivery.Status.PENDING
        if not error and kind == Action.REPLY and not (project and project.customer_replies_allowed):
            status, error = Delivery.Status.SKIPPED, "Customer-visible replies are not allowed for this project."
        yield index, kind, options, body, status, error


def delivery_key_prefix(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40] + ":"


def plan_event(
    *, site, event, webhook_event=None, project: ProjectConnection | None = None, links: IssueLinks | None = None
) -> int:
    """Plan the deliveries one typed event causes. Returns the number of new delivery rows."""
    if getattr(event, "is_own", False):
        return 0
    if links is None:
        links = issue_links(site.pk, event.issue.id)
    if not links.count:
        return 0
    comment = getattr(event, "comment", None)
    if comment is not None and is_customer_voice_comment(site.pk, comment.id):
        return 0  # customers' own replies, posted by us: never back into Intercom
    project = project or project_connection_for(
        site, project_id=event.issue.project_id, project_key=event.issue.project_key, issue_key=event.issue.key
    )
    fired = rules_for_event(rules_for(project), event)
    if not fired:
        return 0
    now = timezone.now()
    context = event_context(event, links_count=links.count)
    created = 0
    for rule in fired:
        for index, kind, params, body, status, error in planned_actions(rule, context, project, event):
            coalesce = rule.coalesce_seconds if kind in MESSAGE_ACTIONS else 0
            values = {
                "source": Delivery.Source.RULE,
                "webhook_event": webhook_event.pk if webhook_event else None,
                "rule": rule.pk,
                "issue_id": event.issue.id,
                "issue_key": event.issue.key or "",
                "action": kind,
                "params": params,
                "body": body,
                "status": status,
                "verify": False,
                "attempts": 0,
                "next_attempt_at": now + timedelta(seconds=coalesce),
                "last_error": error,
                "part_id": "",
                "created_at": now,
            }
            created += delivery_create_for_links(
                link_list_reachable(site.pk, event.issue.id, project.workspace_id if project else None),
                key_prefix=delivery_key_prefix(site.pk, event.dedupe_key, rule.pk, index, kind),
                coalesce_prefix=f"r{rule.pk}:i{event.issue.id}:{kind}:" if coalesce else "",
                values=values,
            )
    return created


def plan_events(*, webhook_event, events) -> set[int]:
    """Plan every event of one webhook delivery; returns the workspaces that now have work."""
    site = webhook_event.site
    workspaces: set[int] = set()
    for event in events:
        links = issue_links(site.pk, event.issue.id)
        if not links.count:
            continue  # most issues have no link: nothing to plan, no rules to read
        if plan_event(site=site, event=event, webhook_event=webhook_event, links=links):
            workspaces |= links.workspace_ids
        if links.trackers:
            workspaces |= plan_tracker_sync(site=site, event=event, webhook_event=webhook_event)
    return workspaces


def _tracker_relevant(event) -> bool:
    if isinstance(event, IssueTransitioned | IssueMoved):
        return True
    return isinstance(event, FieldsChanged) and any(
        (change.field_id or change.field or "").lower() == "summary" for change in event.changes
    )


def plan_tracker_sync(*, site, event, webhook_event=None) -> set[int]:
    """The issue's tracker tickets follow its title, key and state (whoever changed them, the connector too):
    one TRACKER_SYNC delivery per event and tracker. Returns the workspaces that got one."""
    if not _tracker_relevant(event):
        return set()
    workspaces = set()
    for link in tracker_links_of(site.pk, event.issue.id):
        chosen = support_settings(project_connection_for(site, project_key=link.project_key))
        _, created = delivery_create(
            idempotency_key=delivery_key_prefix(site.pk, event.dedupe_key, "tracker", link.pk),
            start_pump=False,
            source=Delivery.Source.TRACKER,
            webhook_event=webhook_event,
            workspace_id=link.workspace_id,
            conversation_id=link.conversation_id,
            target_type=TargetType.TICKET,
            issue_id=event.issue.id,
            issue_key=getattr(event, "new_key", None) or event.issue.key or link.issue_key,
            action=Action.TRACKER_SYNC,
            params={
                "title": event.issue.summary or "",
                "category": state_category_for(event_status(event), None),
                "key_attribute": chosen.jira_key_attribute if chosen else "",
            },
        )
        if created:
            workspaces.add(link.workspace_id)
    return workspaces
