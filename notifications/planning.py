"""Where a Jira event becomes notes: match rules, render each note once, and have deliveries write one row per
reachable linked conversation (one INSERT … SELECT, whatever the number of links; planning twice adds nothing).
"""

import hashlib
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from connector.connections.selectors import project_connection_for
from connector.models import ProjectConnection
from deliveries.models import Action, Delivery
from deliveries.services import delivery_create_for_links
from linking.selectors import link_count, link_list_reachable, link_workspace_ids
from notifications.context import event_context
from notifications.matching import rules_for_event
from notifications.models import IN_ALL_PROJECTS, NotificationRule
from notifications.placeholders import DEFAULT_TEMPLATES
from notifications.rendering import TemplateRenderError, render_note

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


def planned_actions(rule: NotificationRule, context: dict, project: ProjectConnection | None):
    """(index, kind, params, body, status, error) for each known action of a rule that fired."""
    for index, action in enumerate(rule.actions):
        kind = action.get("type")
        if kind not in Action.values:
            continue
        body, error = render_body(rule, context) if kind in MESSAGE_ACTIONS else ("", "")
        status = Delivery.Status.FAILED if error else Delivery.Status.PENDING
        if not error and kind == Action.REPLY and not (project and project.customer_replies_allowed):
            status, error = Delivery.Status.SKIPPED, "Customer-visible replies are not allowed for this project."
        yield index, kind, {k: v for k, v in action.items() if k != "type"}, body, status, error


def delivery_key_prefix(*parts) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40] + ":"


def plan_event(*, site, event, webhook_event=None, project: ProjectConnection | None = None) -> int:
    """Plan the deliveries one typed event causes. Returns the number of new delivery rows."""
    if getattr(event, "is_own", False):
        return 0
    project = project or project_connection_for(
        site, project_id=event.issue.project_id, project_key=event.issue.project_key, issue_key=event.issue.key
    )
    fired = rules_for_event(rules_for(project), event)
    if not fired:
        return 0
    now = timezone.now()
    context = event_context(event, links_count=link_count(site.pk, event.issue.id))
    created = 0
    for rule in fired:
        for index, kind, params, body, status, error in planned_actions(rule, context, project):
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
        if plan_event(site=site, event=event, webhook_event=webhook_event):
            workspaces |= link_workspace_ids(site.pk, event.issue.id)
    return workspaces
