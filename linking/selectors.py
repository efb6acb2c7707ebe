"""Reads: resolve an issue key, list an issue's links, and the report numbers."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.timesince import timesince

from connector.connections.selectors import project_connection_for
from connector.errors import VendorError, VendorErrorKind
from connector.jira_events import project_key_of
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from linking import cards, intercom_reads, jira_pace
from linking.access import LIST_BATCH, visible_rows
from linking.conversation_urls import conversation_web_url
from linking.models import (
    ConversationLink,
    ConversationSnapshot,
    CustomerReply,
    IssueSnapshot,
    JiraWrite,
    LinkChange,
    SiteSearchSettings,
    VisibleFields,
)
from linking.services import IssueTarget, issue_target_from_jira
from linking.snapshots import snapshot_bundle

ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,30}-[1-9][0-9]{0,9}$")
ISSUE_CACHE_SECONDS = 60


class IssueLookupError(LookupError):
    def __init__(self, message: str, *, status: int = 404):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class ResolvedIssue:
    target: IssueTarget
    project: ProjectConnection


def issue_resolve(key: str, *, site_id: int | None = None) -> ResolvedIssue:
    """The issue behind a key (as the app user sees it) and its project's connection."""
    key = (key or "").strip().upper()
    if not ISSUE_KEY.match(key):
        raise IssueLookupError(f"“{key[:40]}” is not a Jira issue key like SUP-123.", status=400)
    project_key = project_key_of(key)
    sites = (
        JiraSite.objects.filter(Q(projects__project_key=project_key) | Q(links__issue_key=key))
        .distinct()
        .order_by("pk")
    )
    if site_id:
        sites = sites.filter(pk=site_id)
    site = sites.first()
    if site is None:
        raise IssueLookupError(f"Project {project_key} is not connected to an Intercom workspace.")
    issue = _jira_issue(site, key)
    target = issue_target_from_jira(site, issue)
    project = project_connection_for(site, project_id=target.project_id, project_key=target.project_key)
    if project is None:
        raise IssueLookupError(f"Project {target.project_key} is not connected to an Intercom workspace.")
    return ResolvedIssue(target=target, project=project)


def _jira_issue(site: JiraSite, key: str) -> dict:
    cache_key = f"linking:issue:{site.pk}:{key}"
    issue = cache.get(cache_key)
    if issue is None:
        try:
            issue = jira_pace.request_client_for(site).issue(key, fields="summary,status,project")
        except VendorError as exc:
            if exc.kind == VendorErrorKind.NOT_FOUND:
                raise IssueLookupError(f"Jira says {key} does not exist, or the connector cannot see it.") from None
            raise IssueLookupError(f"Jira could not be asked about {key}: {exc}", status=502) from None
        cache.set(cache_key, issue, ISSUE_CACHE_SECONDS)
    return issue


def issue_forget(site: JiraSite, key: str) -> None:
    cache.delete(f"linking:issue:{site.pk}:{key}")


def link_list_for_issue(site: JiraSite, issue_id: str):
    return ConversationLink.objects.filter(site=site, issue_id=issue_id).select_related("workspace", "created_by")


def link_list_reachable(site_id: int, issue_id: str, workspace_id: int | None = None) -> QuerySet[ConversationLink]:
    """The links of an issue that get notes: every one whose conversation Intercom has not deleted."""
    links = ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id, health=ConversationLink.Health.OK)
    return links.filter(workspace_id=workspace_id) if workspace_id else links


def link_count(site_id: int, issue_id: str) -> int:
    return ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id).count()


@dataclass(frozen=True)
class IssueLinks:
    count: int
    workspace_ids: frozenset[int]
    trackers: int


def issue_links(site_id: int, issue_id: str) -> IssueLinks:
    """How many links an issue has, in which workspaces, and how many are trackers: one query (a row per
    workspace), whatever the number of links."""
    rows = list(
        ConversationLink.objects.filter(site_id=site_id, issue_id=issue_id)
        .order_by()
        .values("workspace_id")
        .annotate(links=Count("id"), trackers=Count("id", filter=Q(is_tracker=True)))
    )
    return IssueLinks(
        count=sum(r["links"] for r in rows),
        workspace_ids=frozenset(r["workspace_id"] for r in rows),
        trackers=sum(r["trackers"] for r in rows),
    )


def recent_issues(viewer, limit: int = 20) -> list[dict]:
    """The issues linked to most recently that the viewer's Jira account may browse. May raise VendorError."""
    rows = (
        ConversationLink.objects.values("site_id", "issue_id")
        .annotate(issue_key=Max("issue_key"), links=Count("id"), last=Max("created_at"))
        .order_by("-last", "issue_id")
    )
    return visible_rows(viewer, _pages(rows, LIST_BATCH), key=_site_issue, limit=limit)


def _pages(rows: QuerySet, size: int):
    """The rows a page at a time, so a short list stops reading early (no server-side cursor: poolers)."""
    start = 0
    while page := list(rows[start : start + size]):
        yield from page
        start += size


def _site_issue(row) -> tuple[int, str]:
    return (row["site_id"], row["issue_id"]) if isinstance(row, dict) else (row.site_id, row.issue_id)


# --- reports ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    project: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None
    by_replies: bool = False  # "most asked about": rank by customers' replies instead of links


@dataclass(frozen=True)
class RankedIssue:
    site_id: int
    issue_id: str
    issue_key: str
    project_key: str
    summary: str
    status: str
    links: int
    first_linked: datetime
    last_linked: datetime
    customer_replies: int = 0  # since the conversations were linked (linking/voice.py)


def report_ranked_issues(filters: ReportFilters, *, viewer, limit: int | None = None) -> list[RankedIssue]:
    """Issues by how many conversations are linked to them (customer demand), most first; only those the
    viewer's Jira account may browse (the issue page's rule). May raise VendorError.

    Dates filter on when links were made: an issue counts the links made within the range.
    """
    links = ConversationLink.objects.all()
    if filters.project:
        links = links.filter(project_key=filters.project)
    if filters.since:
        links = links.filter(created_at__gte=timezone.make_aware(datetime.combine(filters.since, time.min)))
    if filters.until:
        end = timezone.make_aware(datetime.combine(filters.until + timedelta(days=1), time.min))
        links = links.filter(created_at__lt=end)
    rows = (
        links.values("site_id", "issue_id")
        .annotate(
            links=Count("id"),
            first=Min("created_at"),
            last=Max("created_at"),
            key=Max("issue_key"),
            project=Max("project_key"),
        )
        .order_by("-links", "key")
    )
    snapshots = {
        (s.site_id, s.issue_id): s for s in IssueSnapshot.objects.filter(issue_id__in=[r["issue_id"] for r in rows])
    }
    replies = {
        (r["site_id"], r["issue_id"]): r["n"]
        for r in CustomerReply.objects.filter(issue_id__in=[r["issue_id"] for r in rows])
        .values("site_id", "issue_id")
        .annotate(n=Count("id"))
    }
    ranked = []
    for row in rows:
        snap = snapshots.get((row["site_id"], row["issue_id"]))
        status = snap.status_name if snap else ""
        if filters.status and status.lower() != filters.status.lower():
            continue
        ranked.append(
            RankedIssue(
                site_id=row["site_id"],
                issue_id=row["issue_id"],
                issue_key=row["key"],
                project_key=row["project"],
                summary=snap.summary if snap else "",
                status=status,
                links=row["links"],
                first_linked=row["first"],
                last_linked=row["last"],
                customer_replies=replies.get((row["site_id"], row["issue_id"]), 0),
            )
        )
    if filters.by_replies:
        ranked.sort(key=lambda r: (-r.customer_replies, -r.links, r.issue_key))
    return visible_rows(viewer, ranked, key=_site_issue, limit=limit)


def report_choices() -> dict[str, list[str]]:
    return {
        "projects": sorted(set(ConversationLink.objects.values_list("project_key", flat=True)) - {""}),
        "statuses": sorted(set(IssueSnapshot.objects.values_list("status_name", flat=True)) - {""}),
    }


def link_count_history(site_id: int, issue_id: str) -> list[tuple[datetime, int]]:
    """(when, links after that change) for every link and unlink of one issue, oldest first."""
    return [(change.at, count) for change, count in link_change_list(site_id, issue_id)]


def link_change_list(site_id: int, issue_id: str) -> list[tuple[LinkChange, int]]:
    """Every link and unlink of one issue, oldest first, with the number of links after it (who did it is
    on the change: a connector user or an Intercom teammate)."""
    count, rows = 0, []
    for change in LinkChange.objects.filter(site_id=site_id, issue_id=issue_id).order_by("at", "id"):
        count += 1 if change.kind == LinkChange.Kind.ADDED else -1
        rows.append((change, max(count, 0)))
    return rows


def link_history_subject(key: str) -> tuple[int, str] | None:
    """(site id, issue id) of a key that has or had links, for its history report; None when it never had any."""
    key = key.upper()
    where = (
        ConversationLink.objects.filter(issue_key=key).first() or IssueSnapshot.objects.filter(issue_key=key).first()
    )
    return (where.site_id, where.issue_id) if where else None


# --- admin editors ----------------------------------------------------------------------------------------

AttributeChoices = dict[str, list[tuple[str, str]]]  # entity -> [(path, label)]


def visible_fields_available(workspace: IntercomWorkspace) -> tuple[AttributeChoices, str]:
    """The attributes the fields editor offers per entity, and why Intercom's own ones are missing, if they are."""
    error = ""
    available: AttributeChoices = {}
    for entity in VisibleFields.Entity.values:
        try:
            attributes = intercom_reads.read(workspace, lambda c, e=entity: c.data_attributes(e), max_wait=5.0)
        except VendorError as exc:
            attributes = []
            error = f"Intercom did not list this workspace's attributes ({exc}); only standard ones are shown."
        available[entity] = cards.available_attributes(entity, attributes)
    return available, error


def visible_fields_rows(workspace: IntercomWorkspace, available: AttributeChoices) -> list[dict]:
    """The editor's rows per entity: chosen attributes first in their order, then the others."""
    chosen = cards.chosen_fields(workspace)
    entities = []
    for entity, label in VisibleFields.Entity.choices:
        order = {path: index + 1 for index, path in enumerate(chosen[entity])}
        rows = sorted(
            (
                {"path": path, "label": name, "chosen": path in order, "order": order.get(path, "")}
                for path, name in available[entity]
            ),
            key=lambda row: (not row["chosen"], row["order"] or 0),
        )
        entities.append({"entity": entity, "label": label, "rows": rows})
    return entities


def search_fields_available(site: JiraSite) -> tuple[list[dict], str]:
    """The site's number custom fields (candidates for the count field), and Jira's error if it did not list them."""
    try:
        fields = jira_pace.request_client_for(site).fields()
    except VendorError as exc:
        return [], f"Jira did not list its fields ({exc})."
    return [f for f in fields if f.get("custom") and (f.get("schema") or {}).get("type") == "number"], ""


def search_settings_for(site: JiraSite) -> SiteSearchSettings | None:
    return SiteSearchSettings.objects.filter(site=site).first()


# --- Jira writes --------------------------------------------------------------------------------------------


def jira_write_due_ids(*, limit: int = 500) -> list[int]:
    """Pending Jira writes whose next attempt is due: failed ones after their backoff, or ones whose task was lost."""
    due = JiraWrite.objects.filter(status=JiraWrite.Status.PENDING, next_attempt_at__lte=timezone.now())
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def jira_write_due_sites(write_ids: list[int]) -> set[int]:
    return set(JiraWrite.objects.filter(pk__in=write_ids).values_list("site_id", flat=True))


def jira_write_due_count(site_id: int) -> int:
    due = JiraWrite.objects.filter(site_id=site_id, status=JiraWrite.Status.PENDING)
    return due.filter(next_attempt_at__lte=timezone.now()).count()


def jira_write_wait_seconds(site_id: int) -> float | None:
    """Seconds until the site's next pending write is due (its retry time, or a claim's lease), or None."""
    pending = JiraWrite.objects.filter(site_id=site_id, status=JiraWrite.Status.PENDING).exclude(next_attempt_at=None)
    soonest = pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    return None if soonest is None else max(0.0, (soonest - timezone.now()).total_seconds())


def jira_write_requested_at(write_id: int) -> datetime | None:
    return JiraWrite.objects.filter(pk=write_id).values_list("requested_at", flat=True).first()


def jira_write_get(write_id: int) -> JiraWrite | None:
    return JiraWrite.objects.filter(pk=write_id).first()


# --- conversation cards ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One linked conversation as the issue page (and the Jira panel) shows it, from its stored snapshot."""

    link: ConversationLink
    url: str
    problem: str  # "", "deleted" or "unreachable"
    message: str
    sections: list  # [(entity label, [FieldValue])], empty when details are off or nothing was read yet
    subject: str
    customer: str
    state: str
    last_activity_at: datetime | None
    fetched_at: datetime | None
    freshness: str  # "updated 3 minutes ago", "not fetched yet"
    ticket: object = None  # a ticket link's linking.tickets.TicketCard, filled in by the issue page


@dataclass(frozen=True)
class IssueCards:
    cards: list[Card]
    total: int  # links of the issue
    matching: int  # links matching the search
    page: int
    pages: int
    per_page: int
    query: str
    sort: str


CARD_SORTS = {
    "linked": ("created_at", "id"),
    "-linked": ("-created_at", "-id"),
    "activity": (F("snap_activity").desc(nulls_last=True), "id"),
    "customer": (F("snap_customer").asc(nulls_last=True), "id"),
    "state": (F("snap_state").asc(nulls_last=True), "id"),
}
SORT_COLUMNS = {  # the snapshot column each sort needs
    "activity": {"snap_activity": "last_activity_at"},
    "customer": {"snap_customer": "customer"},
    "state": {"snap_state": "state"},
}
MAX_PER_PAGE = 200


def freshness(fetched_at: datetime | None, now: datetime | None = None) -> str:
    if fetched_at is None:
        return "not fetched yet"
    age = (now or timezone.now()) - fetched_at
    if age < timedelta(minutes=1):
        return "updated just now"
    return f"updated {timesince(fetched_at, now, depth=1)} ago"


def issue_cards(
    site: JiraSite,
    issue_id: str,
    *,
    details: bool = True,
    query: str = "",
    sort: str = "linked",
    page: int = 1,
    per_page: int = 25,
) -> IssueCards:
    """A page of an issue's linked conversations from stored snapshots: never calls Intercom, whatever the
    number of links. `query` searches conversation id, subject and customer; `sort` is one of CARD_SORTS;
    `details` False (the project's conversation view is off) leaves the fields out. Access is the caller's
    to check (issue_access for our pages, the Forge token and the viewer's permission for the panel)."""
    snapshot = ConversationSnapshot.objects.filter(
        workspace_id=OuterRef("workspace_id"), conversation_id=OuterRef("conversation_id")
    )
    links = ConversationLink.objects.filter(site=site, issue_id=issue_id)
    total = links.count()
    query = (query or "").strip()[:200]
    sort = sort if sort in CARD_SORTS else "linked"
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    # Snapshot columns only where the search or the sort needs them: the plain listing stays one indexed query.
    needed = {"snap_subject": "subject", "snap_customer": "customer"} if query else {}
    needed.update(SORT_COLUMNS.get(sort, {}))
    rows = links.annotate(**{name: Subquery(snapshot.values(column)[:1]) for name, column in needed.items()})
    if query:
        rows = rows.filter(
            Q(conversation_id__icontains=query) | Q(snap_subject__icontains=query) | Q(snap_customer__icontains=query)
        )
    matching = rows.count() if query else total
    pages = max(1, -(-matching // per_page))
    page = max(1, min(int(page), pages))
    shown = list(
        rows.select_related("workspace", "created_by").order_by(*CARD_SORTS[sort])[
            (page - 1) * per_page : page * per_page
        ]
    )
    return IssueCards(
        cards=_cards(shown, details=details),
        total=total,
        matching=matching,
        page=page,
        pages=pages,
        per_page=per_page,
        query=query,
        sort=sort,
    )


def _cards(links: list[ConversationLink], *, details: bool) -> list[Card]:
    wanted = Q(pk__in=[])
    for workspace_id in {link.workspace_id for link in links}:
        ids = [link.conversation_id for link in links if link.workspace_id == workspace_id]
        wanted |= Q(workspace_id=workspace_id, conversation_id__in=ids)
    stored = {(s.workspace_id, s.conversation_id): s for s in ConversationSnapshot.objects.filter(wanted)}
    chosen: dict[int, dict] = {}
    now = timezone.now()
    cards_out = []
    for link in links:
        snapshot = None if link.is_ticket else stored.get((link.workspace_id, link.conversation_id))
        bundle = snapshot_bundle(snapshot, link.conversation_id)
        problem = bundle.problem or ("deleted" if link.health == ConversationLink.Health.MISSING else "")
        sections = []
        if details and bundle.conversation and problem != "deleted":
            if link.workspace_id not in chosen:
                chosen[link.workspace_id] = cards.chosen_fields(link.workspace)
            sections = cards.card_sections(bundle, chosen[link.workspace_id])
        cards_out.append(
            Card(
                link=link,
                url=conversation_web_url(
                    app_id=link.workspace.workspace_id,
                    region=link.workspace.region,
                    conversation_id=link.conversation_id,
                    target_type=link.target_type,
                ),
                problem=problem,
                message=bundle.message,
                sections=sections,
                subject=(snapshot.subject if snapshot and details else ""),
                customer=(snapshot.customer if snapshot and details else ""),
                state=(snapshot.state if snapshot else ""),
                last_activity_at=(snapshot.last_activity_at if snapshot else None),
                fetched_at=(snapshot.fetched_at if snapshot else None),
                freshness=freshness(snapshot.fetched_at if snapshot else None, now),
            )
        )
    return cards_out


@dataclass(frozen=True)
class JiraProgress:
    """How far the Jira side of an issue's links is: remote links, count field and property still to write."""

    links: int
    remote_links_pending: int
    count_pending: bool
    failed: int
    last_error: str

    @property
    def done(self) -> bool:
        return not self.remote_links_pending and not self.count_pending

    @property
    def remote_links_written(self) -> int:
        return max(0, self.links - self.remote_links_pending)


def jira_progress(site: JiraSite, issue_id: str, *, links: int | None = None) -> JiraProgress:
    """`links`: the issue's link count, when the caller has it already."""
    writes = JiraWrite.objects.filter(site=site, issue_id=issue_id)
    counts = {
        (row["kind"], row["status"]): row["n"]
        for row in writes.order_by().values("kind", "status").annotate(n=Count("id"))
    }
    pending = JiraWrite.Status.PENDING
    failed = sum(n for (_, status), n in counts.items() if status == JiraWrite.Status.FAILED)
    last_error = ""
    if failed:
        last_error = (
            writes.filter(status=JiraWrite.Status.FAILED).order_by("-updated_at").values_list("last_error", flat=True)
        ).first() or ""
    return JiraProgress(
        links=link_count(site.pk, issue_id) if links is None else links,
        remote_links_pending=counts.get((JiraWrite.Kind.REMOTE_LINK_SYNC, pending), 0),
        count_pending=bool(counts.get((JiraWrite.Kind.ISSUE_SEARCH_SYNC, pending))),
        failed=failed,
        last_error=last_error,
    )
