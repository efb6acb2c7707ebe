"""What the dashboard shows: the setup checklist, health per connection, the last 24 hours, running fan-outs.

Reads only, no vendor call: the checks run by beat and by the connection pages leave their findings on the
rows (health, missing permissions), and this page reads those.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone

from connector.connections.selectors import REQUIRED_PERMISSIONS
from connector.models import Health, IntercomWorkspace, JiraSite, ProjectConnection, WebhookEvent
from deliveries.models import Delivery
from deliveries.selectors import OPEN_STATUSES, fanout_progress
from inbox.models import CreateIssueForm
from notifications.models import NotificationRule
from pipeline.refusals import Refusals, refusals_for, refusals_last_day

PERMISSION_LABELS = {key: label for key, label, _ in REQUIRED_PERMISSIONS}
OK, TODO, PROBLEM = "ok", "todo", "problem"


@dataclass
class Step:
    """One line of the setup checklist: done or not, what was found, and the next step with its page."""

    key: str
    label: str
    state: str  # ok / todo / problem
    detail: str
    next_step: str = ""
    url: str = ""


@dataclass
class ConnectionHealth:
    kind: str  # "Jira site" / "Intercom workspace"
    name: str
    url: str
    state: str  # ok / problem / todo (not checked yet)
    summary: str
    problems: list[str] = field(default_factory=list)


def _missing_text(project: ProjectConnection) -> str:
    labels = [PERMISSION_LABELS.get(key, key) for key in project.missing_permissions]
    return (
        f"In {project.project_key} the app user lacks {len(labels)} of {len(REQUIRED_PERMISSIONS)} permissions: "
        f"{', '.join(labels)}."
    )


def last_webhooks() -> dict[int, object]:
    """When each Jira site's last webhook arrived."""
    rows = WebhookEvent.objects.filter(site__isnull=False).values("site_id").annotate(last=Max("received_at"))
    return {row["site_id"]: row["last"] for row in rows}


def setup_checklist() -> list[Step]:
    sites = list(JiraSite.objects.order_by("name"))
    workspaces = list(IntercomWorkspace.objects.order_by("name"))
    projects = list(ProjectConnection.objects.select_related("site").order_by("project_key"))
    connections = reverse("connections")
    steps: list[Step] = []

    verified = [s for s in sites if s.app_account_id and s.health in (Health.OK, Health.UNKNOWN)]
    if not sites:
        steps.append(Step("site", "Jira site verified", TODO, "No Jira site is connected.",
                          "Connect a Jira site with its app user's API token.", reverse("jira_site_create")))
    elif len(verified) < len(sites):
        bad = next(s for s in sites if s not in verified)
        steps.append(Step("site", "Jira site verified", PROBLEM,
                          f"{bad.name}: {bad.health_error or 'not verified yet'}",
                          "Open the site and enter working credentials.", reverse("jira_site_edit", args=[bad.pk])))
    else:
        steps.append(Step("site", "Jira site verified", OK, ", ".join(f"{s.name} as {s.app_display_name}"
                                                                      for s in sites)))

    lacking = [p for p in projects if p.missing_permissions]
    unchecked = [p for p in projects if p.permissions_checked_at is None]
    if not projects:
        steps.append(Step("permissions", "App user permissions complete", TODO,
                          "Checked per connected project, once a project is connected."))
    elif lacking:
        steps.append(Step("permissions", "App user permissions complete", PROBLEM, _missing_text(lacking[0]),
                          "Grant them in Jira (project settings → Permissions), then check the site again.",
                          reverse("jira_site_detail", args=[lacking[0].site_id])))
    elif unchecked:
        steps.append(Step("permissions", "App user permissions complete", TODO,
                          f"Not checked yet for {', '.join(p.project_key for p in unchecked)}.",
                          "Open the site page: it checks each project's permissions.",
                          reverse("jira_site_detail", args=[unchecked[0].site_id])))
    else:
        steps.append(Step("permissions", "App user permissions complete", OK,
                          f"All {len(REQUIRED_PERMISSIONS)} permissions in {len(projects)} project(s)."))

    last = last_webhooks()
    unregistered = [s for s in sites if not s.webhook_registered_at and s.pk not in last]
    silent = [s for s in sites if s.pk not in last]
    if not sites:
        steps.append(Step("webhook", "Webhook registered and receiving", TODO, "Needs a Jira site first."))
    elif unregistered:
        steps.append(Step("webhook", "Webhook registered and receiving", TODO,
                          f"{unregistered[0].name} has no webhook registered and none has arrived.",
                          "Register the webhook from the site page (one click), or add it in Jira by hand.",
                          reverse("jira_site_detail", args=[unregistered[0].pk])))
    elif silent:
        steps.append(Step("webhook", "Webhook registered and receiving", PROBLEM,
                          f"The webhook of {silent[0].name} is registered but nothing has arrived yet.",
                          "Change an issue in a connected project; if nothing arrives, see the refused deliveries "
                          "on this page and check the URL and secret Jira uses.",
                          reverse("jira_site_detail", args=[silent[0].pk])))
    else:
        newest = max(last.values())
        steps.append(Step("webhook", "Webhook registered and receiving", OK,
                          f"Last delivery received {timezone.localtime(newest):%Y-%m-%d %H:%M} UTC."))

    authored = [w for w in workspaces if w.app_admin_id and w.health in (Health.OK, Health.UNKNOWN)]
    if not workspaces:
        steps.append(Step("workspace", "Intercom workspace and note author", TODO, "No workspace is connected.",
                          "Connect an Intercom workspace with its access token.", reverse("intercom_workspace_create")))
    elif len(authored) < len(workspaces):
        bad = next(w for w in workspaces if w not in authored)
        why = bad.health_error if bad.health not in (Health.OK, Health.UNKNOWN) else "no note author chosen"
        steps.append(Step("workspace", "Intercom workspace and note author", PROBLEM,
                          f"{bad.name}: {why.rstrip('.')}.",
                          "Open the workspace and fix it.", reverse("intercom_workspace_detail", args=[bad.pk])))
    else:
        steps.append(Step("workspace", "Intercom workspace and note author", OK,
                          ", ".join(f"{w.name}, notes by {w.app_admin_name or w.app_admin_id}" for w in workspaces)))

    if projects:
        steps.append(Step("projects", "Projects connected", OK, ", ".join(p.project_key for p in projects)))
    else:
        steps.append(Step("projects", "Projects connected", TODO, "No Jira project is connected to a workspace.",
                          "Connect a project on the site page.",
                          reverse("project_connection_create", args=[sites[0].pk]) if sites else connections))

    if workspaces:
        steps.append(_inbox_step(workspaces, projects))

    enabled = NotificationRule.objects.filter(enabled=True).count()
    if enabled:
        steps.append(Step("rules", "Rules on", OK, f"{enabled} rule(s) enabled."))
    else:
        steps.append(Step("rules", "Rules on", TODO, "No rule is enabled: nothing will be posted.",
                          "Turn on a rule, or create one.", reverse("rules")))
    return steps


def _inbox_step(workspaces: list[IntercomWorkspace], projects: list[ProjectConnection]) -> Step:
    """The Intercom Inbox app (optional): its requests are checked with the workspace's client secret."""
    label = "Inbox app (optional)"
    unsigned = [w for w in workspaces if not w.client_secret]
    if unsigned:
        return Step("inbox", label, TODO,
                    f"{unsigned[0].name} has no client secret, so the Inbox app's requests cannot be verified.",
                    "Enter the app's client secret on the workspace, then follow the Inbox app page.",
                    reverse("intercom_workspace_edit", args=[unsigned[0].pk]))
    forms = CreateIssueForm.objects.filter(project__in=projects).count()
    return Step("inbox", label, OK,
                f"Ready for Intercom's Inbox: {forms} of {len(projects)} project(s) have a create-issue form.",
                "Paste the initialize and submit URLs into your Intercom app.", reverse("inbox_app"))


def connection_health() -> list[ConnectionHealth]:
    """Each connection: working, broken, or working yet short of permissions (a problem, not "Working")."""
    rows = []
    lacking: dict[int, list[ProjectConnection]] = {}
    for project in ProjectConnection.objects.exclude(missing_permissions=[]).order_by("project_key"):
        lacking.setdefault(project.site_id, []).append(project)
    for site in JiraSite.objects.order_by("name"):
        problems = [_missing_text(p) for p in lacking.get(site.pk, [])]
        rows.append(_health_row("Jira site", site, reverse("jira_site_detail", args=[site.pk]), problems))
    for workspace in IntercomWorkspace.objects.order_by("name"):
        rows.append(_health_row("Intercom workspace", workspace,
                                reverse("intercom_workspace_detail", args=[workspace.pk]), []))
    return rows


@dataclass
class RefusedAt:
    sender: str  # the connection's name, or "an unknown URL"
    source: str
    refusals: Refusals


def refused_webhooks() -> list[RefusedAt]:
    """Refused deliveries per connection and reason (the last 7 days), with the last few; only where any."""
    senders = [("jira", str(s.public_id), s.name) for s in JiraSite.objects.order_by("name")]
    senders += [("intercom", str(w.public_id), w.name) for w in IntercomWorkspace.objects.order_by("name")]
    senders += [("jira", None, "an unknown Jira webhook URL"), ("intercom", None, "an unknown Intercom webhook URL")]
    found = [RefusedAt(name, source, refusals_for(source=source, sender=sender)) for source, sender, name in senders]
    return [r for r in found if r.refusals.counts]


def _health_row(kind: str, connection, url: str, problems: list[str]) -> ConnectionHealth:
    if connection.health in (Health.BROKEN, Health.REVOKED):
        problems = [connection.health_error or f"{connection.get_health_display()}.", *problems]
        return ConnectionHealth(kind, connection.name, url, PROBLEM, connection.get_health_display(), problems)
    if problems:
        return ConnectionHealth(kind, connection.name, url, PROBLEM, "Working, with problems", problems)
    if connection.health == Health.UNKNOWN:
        return ConnectionHealth(kind, connection.name, url, TODO, connection.get_health_display())
    return ConnectionHealth(kind, connection.name, url, OK, connection.get_health_display())


@dataclass
class Glance:
    events_received: int
    events_refused: int | None  # None: Redis could not say
    events_failed: int
    notes_sent: int
    notes_failed: int
    notes_held: int

    def chart_rows(self) -> list[tuple[str, int]]:
        return [
            ("Events in", self.events_received), ("Refused", self.events_refused or 0),
            ("Events failed", self.events_failed), ("Notes sent", self.notes_sent),
            ("Notes failed", self.notes_failed), ("Notes held", self.notes_held),
        ]


def last_day() -> Glance:
    since = timezone.now() - timedelta(hours=24)
    events = WebhookEvent.objects.filter(received_at__gte=since)
    notes = Delivery.objects.filter(Q(created_at__gte=since) | Q(sent_at__gte=since))
    return Glance(
        events_received=events.count(),
        events_refused=refusals_last_day(),
        events_failed=events.filter(status=WebhookEvent.Status.FAILED).count(),
        notes_sent=Delivery.objects.filter(sent_at__gte=since).count(),
        notes_failed=notes.filter(status=Delivery.Status.FAILED).count(),
        notes_held=Delivery.objects.filter(status=Delivery.Status.HELD).count(),  # held now, however old
    )


def running_fanouts():
    open_rows = Delivery.objects.filter(status__in=OPEN_STATUSES)
    events = open_rows.filter(webhook_event__isnull=False).values("webhook_event_id").distinct()[:50]
    return [f for f in fanout_progress(Delivery.objects.filter(webhook_event_id__in=events)) if f.running]
