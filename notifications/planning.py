"""From an event to Delivery rows: match rules, render each note once, insert one row per linked conversation.

The insert is a single INSERT … SELECT over the issue's links with ON CONFLICT DO NOTHING on the
idempotency key, so planning costs the same few queries for 1 or 10,000 links, holds no rows in memory, and
planning the same event twice (a redelivered webhook, a retried task) adds nothing.
"""

import hashlib
import json
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from connector.models import ProjectConnection
from linking.models import ConversationLink
from notifications.context import event_context
from notifications.matching import rules_for_event
from notifications.models import Action, Delivery, NotificationRule
from notifications.placeholders import DEFAULT_TEMPLATES
from notifications.rendering import TemplateRenderError, render_note

MESSAGE_ACTIONS = {Action.NOTE, Action.REPLY}


def project_for(site, issue) -> ProjectConnection | None:
    lookup = Q(project_id=issue.project_id) if issue.project_id else Q(project_key=issue.project_key or "")
    if not issue.project_id and not issue.project_key and issue.key and "-" in issue.key:
        lookup = Q(project_key=issue.key.rsplit("-", 1)[0])
    return ProjectConnection.objects.filter(site=site).filter(lookup).select_related("workspace").first()


def rules_for(project: ProjectConnection | None):
    scope = Q(project__isnull=True) | Q(project=project) if project else Q(project__isnull=True)
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


def _insert_for_links(*, site_id: int, issue_id: str, workspace_id: int | None, values: dict) -> int:
    """Insert one delivery per reachable link of the issue; returns how many rows were new."""
    d, link = Delivery._meta, ConversationLink._meta
    col = {f.name: f.column for f in d.concrete_fields}
    lcol = {f.name: f.column for f in link.concrete_fields}
    conversation = f"l.{lcol['conversation_id']}"
    # (column, SQL expression, parameters); identifiers come from model metadata, values are parameters.
    select = [
        ("idempotency_key", f"%s || CAST(l.{lcol['workspace']} AS TEXT) || ':' || {conversation}",
         [values["key_prefix"]]),
        ("workspace", f"l.{lcol['workspace']}", []),
        ("conversation_id", conversation, []),
        ("coalesce_key", f"%s || {conversation}" if values["coalesce_key"] else "''",
         [values["coalesce_key"]] if values["coalesce_key"] else []),
    ]
    for name in ("source", "webhook_event", "rule", "issue_id", "issue_key", "action", "body", "status", "verify",
                 "attempts", "next_attempt_at", "last_error", "part_id", "created_at"):
        select.append((name, "%s", [values[name]]))
    json_cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    select.append(("params", json_cast, [json.dumps(values["params"])]))
    where = f"l.{lcol['site']} = %s AND l.{lcol['issue_id']} = %s AND l.{lcol['health']} = %s"
    where_params = [site_id, issue_id, ConversationLink.Health.OK]  # not into conversations Intercom deleted
    if workspace_id:
        where += f" AND l.{lcol['workspace']} = %s"
        where_params.append(workspace_id)
    sql = (
        f"INSERT INTO {d.db_table} ({', '.join(col[name] for name, _, _ in select)}) "  # noqa: S608
        f"SELECT {', '.join(expr for _, expr, _ in select)} FROM {link.db_table} l WHERE {where} "
        f"ON CONFLICT ({col['idempotency_key']}) DO NOTHING"
    )
    params = [value for _, _, values_ in select for value in values_] + where_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _links_count(site_id: int, issue_id: str) -> int:
    return ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id).count()


def plan_event(*, site, event, webhook_event=None, project: ProjectConnection | None = None) -> int:
    """Plan the deliveries one typed event causes. Returns the number of new delivery rows."""
    if getattr(event, "is_own", False):
        return 0
    project = project or project_for(site, event.issue)
    fired = rules_for_event(rules_for(project), event)
    if not fired:
        return 0
    now = timezone.now()
    context = event_context(event, links_count=_links_count(site.pk, event.issue.id))
    created = 0
    for rule in fired:
        for index, kind, params, body, status, error in planned_actions(rule, context, project):
            coalesce = rule.coalesce_seconds if kind in MESSAGE_ACTIONS else 0
            values = {
                "key_prefix": delivery_key_prefix(site.pk, event.dedupe_key, rule.pk, index, kind),
                "source": Delivery.Source.RULE,
                "webhook_event": webhook_event.pk if webhook_event else None,
                "rule": rule.pk,
                "issue_id": event.issue.id,
                "issue_key": event.issue.key or "",
                "action": kind,
                "params": params,
                "body": body,
                "coalesce_key": f"r{rule.pk}:i{event.issue.id}:{kind}:" if coalesce else "",
                "status": status,
                "verify": False,
                "attempts": 0,
                "next_attempt_at": now + timedelta(seconds=coalesce),
                "last_error": error,
                "part_id": "",
                "created_at": now,
            }
            created += _insert_for_links(
                site_id=site.pk,
                issue_id=event.issue.id,
                workspace_id=project.workspace_id if project else None,
                values=values,
            )
    return created


def plan_events(*, webhook_event, events) -> set[int]:
    """Plan every event of one webhook delivery; returns the workspaces that now have work."""
    site = webhook_event.site
    workspaces: set[int] = set()
    for event in events:
        if plan_event(site=site, event=event, webhook_event=webhook_event):
            workspaces.update(
                ConversationLink.objects.filter(site=site, issue_id=event.issue.id)
                .values_list("workspace_id", flat=True)
                .distinct()
            )
    return workspaces


def enqueue_pumps(workspace_ids) -> None:
    """Once the plan commits, start the workspaces' pumps: right here when we already run on a worker (saves a
    broker round trip on the way to Intercom), else through the broker."""
    from notifications.tasks import delivery_pump_enqueue, delivery_pump_inline

    ids = sorted(set(workspace_ids))
    if not ids:
        return

    def start() -> None:
        for workspace_id in ids:
            if not delivery_pump_inline(workspace_id):
                delivery_pump_enqueue(workspace_id)

    transaction.on_commit(start)
