"""Reads for the rules and delivery pages: rule groups, delivery filters, fan-out progress, previews, dry runs.

Nothing here writes: the dry run and the previews match and render exactly as planning does, then stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Q, QuerySet

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError
from connector.jira_events import parse_jira_event, project_key_of
from connector.jira_events.extract import Anomaly, issue_ref
from connector.models import JiraSite, ProjectConnection, WebhookEvent
from deliveries.models import Action, Delivery
from linking import jira_pace
from linking.models import ConversationLink
from linking.selectors import link_list_reachable
from notifications.context import event_context
from notifications.matching import MESSAGE_ACTIONS, LinkEvent, rules_for_event, rules_overlap
from notifications.models import IN_ALL_PROJECTS, NotificationRule, Trigger
from notifications.placeholders import DEFAULT_TEMPLATES, sample_context
from notifications.planning import planned_actions, rules_for

ISSUE_FIELDS = "summary,status,assignee,reporter,issuetype,priority,labels,project,resolution,fixVersions"


# --- rules -----------------------------------------------------------------------------------------------


@dataclass
class RuleGroup:
    project: ProjectConnection | None  # None: the rules for every project, or (detached_key) a disconnected one's
    rules: list[NotificationRule]
    detached_key: str = ""

    @property
    def label(self) -> str:
        if self.detached_key:
            return f"Disconnected project {self.detached_key}"
        return f"Project {self.project.project_key}" if self.project else "All projects"


def rule_groups() -> list[RuleGroup]:
    """"All projects" first, then each connected project (with or without rules), rules in their order; last the
    rules kept from disconnected projects, so none is out of sight."""
    rules = list(NotificationRule.objects.select_related("project").order_by("position", "id"))
    projects = ProjectConnection.objects.select_related("site", "workspace").order_by("project_key", "pk")
    groups = [RuleGroup(None, [r for r in rules if r.project_id is None and not r.is_detached])]
    groups += [RuleGroup(p, [r for r in rules if r.project_id == p.pk]) for p in projects]
    kept: dict[tuple, list[NotificationRule]] = {}
    for rule in rules:
        if rule.is_detached:
            key = (rule.detached_project_key, rule.detached_site_id, rule.detached_project_id)
            kept.setdefault(key, []).append(rule)
    groups += [RuleGroup(None, group, detached_key=key[0]) for key, group in sorted(kept.items())]
    return groups


def rule_scope(rule: NotificationRule) -> QuerySet[NotificationRule]:
    """The rules sharing this rule's list (same project, all projects, or the same disconnected project)."""
    if rule.project_id:
        return NotificationRule.objects.filter(project_id=rule.project_id)
    if rule.is_detached:
        return NotificationRule.objects.filter(
            project__isnull=True, detached_site_id=rule.detached_site_id, detached_project_id=rule.detached_project_id
        )
    return NotificationRule.objects.filter(IN_ALL_PROJECTS)


def rules_heard(projects) -> list[str]:
    """In a few words each, what a conversation linked to issues of these projects hears about: the enabled
    rules that apply to them, by trigger (with the target status when a rule names one), in trigger order."""
    rules = NotificationRule.objects.filter(enabled=True).filter(Q(project__in=list(projects)) | IN_ALL_PROJECTS)
    heard: dict[str, list[str]] = {}
    for trigger, to_status in rules.values_list("trigger", "to_status").order_by("position", "id"):
        statuses = heard.setdefault(trigger, [])
        if to_status and to_status not in statuses:
            statuses.append(to_status.removeprefix("category:"))
        elif not to_status:
            statuses.insert(0, "")
    words = []
    for trigger, label in Trigger.choices:
        if trigger in heard:
            named = [] if "" in heard[trigger] else heard[trigger]
            words.append(f"{label.lower()} (to {', '.join(named)})" if named else label.lower())
    return words


def rules_overlapping(rule: NotificationRule, data: dict) -> list[NotificationRule]:
    """Enabled rules that would also post a message into the same conversations for the events the rule (as
    edited: the form's `data`) posts for: every-project rules meet each project's own, and the reverse."""
    if not data.get("enabled", True) or not any(a.get("type") in MESSAGE_ACTIONS for a in data.get("actions", [])):
        return []
    project = data.get("project")
    rules = NotificationRule.objects.filter(enabled=True, trigger=data.get("trigger")).exclude(pk=rule.pk)
    rules = rules.filter(detached_project_id="") if project is None else rules.filter(
        IN_ALL_PROJECTS | Q(project=project))
    return [other for other in rules.order_by("position", "id") if rules_overlap(other, data)]


@dataclass
class JiraChoices:
    """What the rule editor offers to pick from: the project's statuses, issue types and priorities in Jira."""

    statuses: list[str] = field(default_factory=list)
    issue_types: list[str] = field(default_factory=list)
    priorities: list[str] = field(default_factory=list)
    problem: str = ""


CHOICES_CACHE_SECONDS = 300
STATUS_SHORTCUTS = ["any", "category:new", "category:indeterminate", "category:done"]


def jira_choices(project: ProjectConnection) -> JiraChoices:
    """From Jira, for one project, cached a few minutes; free text stays allowed, so Jira being unreachable only
    costs the suggestions."""
    projects = [project]
    key = f"rule-choices:{project.pk}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    statuses, types, priorities, problems = set(), set(), set(), []
    for p in projects:
        try:
            client = jira_pace.request_client_for(p.site)
            for issue_type in client.project_statuses(p.project_key):
                types.add(issue_type.get("name") or "")
                statuses |= {s.get("name") or "" for s in issue_type.get("statuses") or []}
            priorities |= {pr.get("name") or "" for pr in client.priorities()}
        except VendorError as exc:
            problems.append(f"{p.project_key}: {exc}")
    choices = JiraChoices(
        statuses=STATUS_SHORTCUTS + sorted(statuses - {""}), issue_types=sorted(types - {""}),
        priorities=sorted(priorities - {""}),
        problem=f"Jira did not list its statuses ({'; '.join(problems)}); type them in." if problems else "",
    )
    cache.set(key, choices, CHOICES_CACHE_SECONDS)
    return choices


# --- issues and events -----------------------------------------------------------------------------------


def latest_jira_event(issue_key: str) -> WebhookEvent | None:
    key = (issue_key or "").strip().upper()
    if not key:
        return None
    return (
        WebhookEvent.objects.select_related("site")
        .filter(source=WebhookEvent.Source.JIRA, issue_key__iexact=key, site__isnull=False)
        .order_by("-received_at", "-pk")
        .first()
    )


def parsed_events(event: WebhookEvent) -> tuple[list, str]:
    """The typed events of a stored webhook (as processing parsed them) and the parser's reason."""
    site = event.site
    result = parse_jira_event(
        event.payload, app_user_ids=[site.app_account_id] if site.app_account_id else (), site_url=site.base_url
    )
    return list(result.events), result.reason or result.outcome


def site_for_key(issue_key: str) -> JiraSite | None:
    """The Jira site an issue key belongs to: a connected project with that key, else an existing link."""
    key = (issue_key or "").strip().upper()
    project_key = project_key_of(key) or key
    project = ProjectConnection.objects.select_related("site").filter(project_key=project_key).order_by("pk").first()
    if project:
        return project.site
    link = ConversationLink.objects.select_related("site").filter(issue_key=key).order_by("pk").first()
    return link.site if link else None


# --- preview ---------------------------------------------------------------------------------------------


class PreviewError(Exception):
    """The preview could not use the issue asked for; the message says why, for the admin."""


@dataclass
class PreviewContext:
    context: dict
    source: str  # what the values come from, shown under the preview


def preview_context(*, trigger: str, issue_key: str = "") -> PreviewContext:
    """Values to render a template against: samples, the issue's last stored webhook, or the issue from Jira."""
    key = (issue_key or "").strip().upper()
    if not key:
        context = sample_context()
        context["event"]["kind"] = trigger or context["event"]["kind"]
        return PreviewContext(context, "Sample values from the placeholder list.")
    event = latest_jira_event(key)
    if event is not None:
        events, _ = parsed_events(event)
        if events:
            typed = next((e for e in events if e.kind == trigger), events[0])
            count = link_list_reachable(event.site_id, typed.issue.id).count()
            return PreviewContext(
                event_context(typed, links_count=count),
                f"The last webhook event of {key} ({event.event_type}, received "
                f"{event.received_at:%Y-%m-%d %H:%M} UTC), read as {typed.kind}.",
            )
    site = site_for_key(key)
    if site is None:
        raise PreviewError(f"No connected project or link knows the issue {key}.")
    try:
        ref = issue_ref(jira_pace.request_client_for(site).issue(key, fields=ISSUE_FIELDS), site_url=site.base_url)
    except VendorError as exc:
        raise PreviewError(f"Jira could not be asked about {key}: {exc}") from None
    except Anomaly as exc:
        raise PreviewError(f"Jira's answer about {key} was not understood: {exc}") from None
    # The issue's own values from Jira; what only an event carries (comment, changes, actor) stays sample.
    real = event_context(LinkEvent(kind="conversation_linked", issue=ref, conversation_id=""), links_count=0)
    context = sample_context()
    context["issue"] = real["issue"]
    context["issue"]["status_to"] = context["issue"]["status"]["name"]
    context["links"]["count"] = link_list_reachable(site.pk, ref.id).count()
    context["event"]["kind"] = trigger
    return PreviewContext(
        context, f"{key} as Jira has it now; the comment, the changes and the actor are sample values."
    )


# --- dry run ---------------------------------------------------------------------------------------------


@dataclass
class PlannedAction:
    type: str
    label: str
    params: dict
    body: str = ""
    error: str = ""
    skipped: str = ""


@dataclass
class FiredRule:
    rule: NotificationRule
    actions: list[PlannedAction]


@dataclass
class DryRunEvent:
    kind: str
    summary: str
    is_own: bool
    fired: list[FiredRule] = field(default_factory=list)
    not_fired: list[NotificationRule] = field(default_factory=list)  # enabled rules in scope that did not match
    stopped_after: NotificationRule | None = None


@dataclass
class DryRun:
    key: str
    webhook_event: WebhookEvent | None = None
    project: ProjectConnection | None = None
    links: int = 0
    events: list[DryRunEvent] = field(default_factory=list)
    problem: str = ""


def _describe(event) -> str:
    kind = event.kind
    if kind == "issue_transitioned":
        return f"{event.from_status.name or event.from_status.id} → {event.to_status.name or event.to_status.id}"
    if kind == "assignee_changed":
        return f"assignee → {getattr(event.to_user, 'display_name', None) or 'unassigned'}"
    if kind == "fields_changed":
        return ", ".join(c.field for c in getattr(event, "meaningful_changes", event.changes)) or "no field"
    if kind.startswith("comment_"):
        return f"{event.comment.visibility} comment"
    return kind.replace("_", " ")


def dry_run(issue_key: str) -> DryRun:
    """What the rules would do for the last stored webhook event of KEY — matched and rendered, never written."""
    key = (issue_key or "").strip().upper()
    result = DryRun(key=key)
    event = latest_jira_event(key)
    if event is None:
        result.problem = f"No Jira webhook event has been received for {key} yet."
        return result
    result.webhook_event = event
    events, reason = parsed_events(event)
    if not events:
        result.problem = f"The last event ({event.event_type}) causes nothing: {reason}."
        return result
    site = event.site
    for typed in events:
        project = project_connection_for(
            site, project_id=typed.issue.project_id, project_key=typed.issue.project_key, issue_key=typed.issue.key
        )
        result.project = result.project or project
        rules = rules_for(project)
        fired = rules_for_event(rules, typed)
        links = link_list_reachable(site.pk, typed.issue.id, project.workspace_id if project else None).count()
        result.links = max(result.links, links)
        context = event_context(typed, links_count=link_list_reachable(site.pk, typed.issue.id).count())
        entry = DryRunEvent(kind=typed.kind, summary=_describe(typed), is_own=bool(getattr(typed, "is_own", False)))
        entry.not_fired = [r for r in rules if r not in fired]
        if fired and fired[-1].stop_after:
            entry.stopped_after = fired[-1]
        if entry.is_own:
            fired = []  # planning ignores the connector's own writes
        for rule in fired:
            actions = []
            for _, kind, params, body, status, error in planned_actions(rule, context, project, typed):
                planned = PlannedAction(kind, Action(kind).label, params, body=body)
                if status == Delivery.Status.SKIPPED:
                    planned.skipped = f"{error.rstrip('.')}: it would be skipped."
                else:
                    planned.error = error
                actions.append(planned)
            entry.fired.append(FiredRule(rule, actions))
        result.events.append(entry)
    return result


def default_template(trigger: str) -> str:
    return DEFAULT_TEMPLATES.get(trigger, "")
