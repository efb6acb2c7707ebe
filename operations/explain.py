"""Explain an issue: "why didn't my note arrive?" answered from what was stored.

For the issue's recent Jira events: what the event was, which rules matched or not and why (trigger, conditions,
project, stop-after), what was planned, what was sent, what is held or failed and why. Reads only; the rule
verdicts are computed by the same matching code planning uses.
"""

import operator
from dataclasses import dataclass, field
from functools import reduce

from django.db.models import Q

from connector.models import IntercomWorkspace, ProjectConnection, WebhookEvent
from deliveries.models import Delivery
from linking.selectors import link_list_reachable
from notifications.matching import mismatch_reason
from notifications.models import NotificationRule
from notifications.planning import delivery_key_prefix
from notifications.selectors import parsed_events, site_for_key
from pipeline.event_views import event_outcome

RECENT_EVENTS = 10
Status = Delivery.Status


@dataclass
class RuleVerdict:
    rule: NotificationRule
    matched: bool
    reason: str  # why not, or for a match what happened to what it planned
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class EventExplanation:
    webhook_event: WebhookEvent
    outcome: str
    kind: str = ""
    summary: str = ""
    verdicts: list[RuleVerdict] = field(default_factory=list)
    other_deliveries: list[Delivery] = field(default_factory=list)  # not from a rule in scope (test, comment…)
    problem: str = ""

    @property
    def matched(self) -> list[RuleVerdict]:
        return [v for v in self.verdicts if v.matched]


@dataclass
class Explanation:
    key: str
    project: ProjectConnection | None = None
    links: int = 0
    events: list[EventExplanation] = field(default_factory=list)
    problem: str = ""
    counts: dict = field(default_factory=dict)


def _held_reason(delivery: Delivery, workspaces: dict[int, IntercomWorkspace]) -> str:
    workspace = workspaces.get(delivery.workspace_id)
    why = workspace.health_error if workspace and workspace.health_error else "its Intercom connection is broken"
    return f"held: {why} It goes out once the workspace is reconnected."


def delivery_words(delivery: Delivery, workspaces: dict[int, IntercomWorkspace]) -> str:
    """What happened to one planned delivery, in words."""
    if delivery.status == Status.SENT:
        return f"sent {delivery.sent_at:%Y-%m-%d %H:%M:%S} UTC"
    if delivery.status == Status.HELD:
        return _held_reason(delivery, workspaces)
    if delivery.status == Status.FAILED:
        return f"failed: {delivery.last_error or 'no error recorded'}"
    if delivery.status == Status.SKIPPED:
        return f"skipped: {delivery.last_error or 'nothing to send'}"
    if delivery.status == Status.SENDING:
        return "being sent now"
    return f"waiting to be sent (next attempt {delivery.next_attempt_at:%H:%M:%S} UTC)" + (
        f"; last try: {delivery.last_error}" if delivery.last_error else ""
    )


def _scope_reason(rule: NotificationRule, project: ProjectConnection | None) -> str:
    """Why a rule is not even considered for the issue's project; "" when it is."""
    if rule.is_detached:
        return f"The rule belongs to the disconnected project {rule.detached_project_key}."
    if rule.project_id and (project is None or rule.project_id != project.pk):
        return f"The rule is for project {rule.project.project_key}, not this issue's project."
    return ""


def _why_nothing(event: WebhookEvent, typed, rule: NotificationRule, project, site) -> str:
    """A rule matched but planned nothing for this event: no linked conversation, or planned earlier."""
    reachable = link_list_reachable(site.pk, typed.issue.id, project.workspace_id if project else None).count()
    if not reachable:
        return "Matched, but the issue had no linked conversation this connector can reach, so nothing was planned."
    prefixes = [
        delivery_key_prefix(site.pk, typed.dedupe_key, rule.pk, index, action.get("type"))
        for index, action in enumerate(rule.actions)
    ]
    earlier = (
        Delivery.objects.filter(reduce(operator.or_, [Q(idempotency_key__startswith=p) for p in prefixes]))
        .exclude(webhook_event=event)
        .select_related("webhook_event")
        .order_by("created_at")
        .first()
        if prefixes
        else None
    )
    if earlier is not None:
        when = earlier.created_at
        return (
            f"Matched, but the same change was already planned on {when:%Y-%m-%d %H:%M} UTC (delivery "
            f"#{earlier.pk}, {earlier.get_status_display().lower()}), so nothing new was sent. Jira sends one "
            "change twice sometimes; a replayed or reset Jira that reuses change ids looks the same."
        )
    return "Matched, but no delivery was recorded for it (the event may not have been processed yet)."


def explain_event(event: WebhookEvent, rules: list[NotificationRule], workspaces) -> EventExplanation:
    result = EventExplanation(event, event_outcome(event))
    deliveries = list(Delivery.objects.filter(webhook_event=event).order_by("rule_id", "pk"))
    by_rule: dict[int | None, list[Delivery]] = {}
    for d in deliveries:
        by_rule.setdefault(d.rule_id, []).append(d)
    if event.purged_at is not None:
        result.problem = "The event's payload was purged after the retention period; its deliveries are below."
        result.other_deliveries = deliveries
        return result
    if event.status == WebhookEvent.Status.RECEIVED:
        result.problem = "Not processed yet: no worker has taken it (see the troubleshooting guide if this lasts)."
    typed_events, reason = parsed_events(event)
    if not typed_events:
        result.problem = result.problem or f"This event causes nothing: {reason}."
        result.other_deliveries = deliveries
        return result
    site = event.site
    seen_rules: set[int] = set()
    for typed in typed_events:
        project = ProjectConnection.objects.filter(site=site, project_id=typed.issue.project_id).first() or (
            ProjectConnection.objects.filter(site=site, project_key=typed.issue.project_key).first()
        )
        result.kind = result.kind or typed.kind
        result.summary = result.summary or _summary(typed)
        stopped_by: NotificationRule | None = None
        for rule in rules:
            if rule.pk in seen_rules:
                continue
            scope = _scope_reason(rule, project)
            if scope:
                if rule.trigger == typed.kind:  # rules of other projects only where they could have applied
                    result.verdicts.append(RuleVerdict(rule, False, scope))
                    seen_rules.add(rule.pk)
                continue
            if stopped_by is not None:
                result.verdicts.append(RuleVerdict(rule, False, f"Not tried: “{stopped_by.name}” matched first and "
                                                               "stops later rules (stop after this rule)."))
                seen_rules.add(rule.pk)
                continue
            why_not = mismatch_reason(rule, typed)
            seen_rules.add(rule.pk)
            if why_not:
                result.verdicts.append(RuleVerdict(rule, False, why_not))
                continue
            planned = by_rule.pop(rule.pk, [])
            reason = "" if planned else _why_nothing(event, typed, rule, project, site)
            result.verdicts.append(RuleVerdict(rule, True, reason, planned))
            if rule.stop_after:
                stopped_by = rule
    result.other_deliveries = [d for group in by_rule.values() for d in group]
    return result


def _summary(typed) -> str:
    if typed.kind == "issue_transitioned":
        before, after = typed.from_status, typed.to_status
        return f"{before.name if before else '?'} → {after.name if after else '?'}"
    if typed.kind.startswith("comment_"):
        return f"{typed.comment.visibility} comment"
    return typed.kind.replace("_", " ")


def explain_issue(issue_key: str) -> Explanation:
    key = (issue_key or "").strip().upper()
    result = Explanation(key=key)
    if not key:
        return result
    site = site_for_key(key)
    events = list(
        WebhookEvent.objects.select_related("site")
        .filter(source=WebhookEvent.Source.JIRA, issue_key__iexact=key, site__isnull=False)
        .order_by("-received_at", "-pk")[:RECENT_EVENTS]
    )
    if site is None and events:
        site = events[0].site
    if site is None:
        result.problem = (
            f"No connected project and no link knows {key}, and no Jira event for it has arrived. Check the key, "
            "and that its project is connected (Connections)."
        )
        return result
    project_key = key.rsplit("-", 1)[0]
    result.project = ProjectConnection.objects.select_related("workspace").filter(
        site=site, project_key=project_key).first()
    issue_ids = {e.issue_id for e in events if e.issue_id}
    result.links = sum(link_list_reachable(site.pk, issue_id).count() for issue_id in issue_ids)
    if not events:
        result.problem = (
            f"No Jira webhook event has arrived for {key}. If the issue changed in Jira, the webhook is not reaching "
            "the connector: see the dashboard's setup checklist and the refused deliveries on the site page."
        )
        return result
    rules = list(NotificationRule.objects.select_related("project").order_by("position", "id"))
    workspaces = IntercomWorkspace.objects.in_bulk()
    result.events = [explain_event(event, rules, workspaces) for event in events]
    counts = dict.fromkeys(Status.values, 0)
    for d in Delivery.objects.filter(issue_key__iexact=key).values_list("status", flat=True):
        counts[d] += 1
    result.counts = counts
    return result
