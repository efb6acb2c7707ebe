"""Reads for the delivery log: filters, fan-out progress and counts by status."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet

from deliveries.models import Delivery

Status = Delivery.Status
OPEN_STATUSES = (Status.PENDING, Status.SENDING)
RESENDABLE = (Status.FAILED, Status.HELD, Status.SKIPPED)


def delivery_filter(data: dict) -> QuerySet[Delivery]:
    """Deliveries matching the cleaned filters (status, rule, action, source, workspace, issue), newest first."""
    rows = Delivery.objects.select_related("rule", "workspace", "created_by")
    for name in ("status", "action", "source"):
        if data.get(name):
            rows = rows.filter(**{name: data[name]})
    if data.get("rule"):
        rows = rows.filter(rule=data["rule"])
    if data.get("workspace"):
        rows = rows.filter(workspace=data["workspace"])
    if data.get("issue"):
        rows = rows.filter(issue_key__iexact=data["issue"].strip())
    return rows.order_by("-created_at", "-pk")


@dataclass(frozen=True)
class FanOut:
    """All deliveries of one event through one rule (or one comment post): how far it got."""

    webhook_event_id: int | None
    rule_id: int | None
    rule_name: str
    issue_key: str
    total: int
    sent: int
    failed: int
    open: int  # pending or sending
    held: int  # waiting for a broken connection: not done, and not failed either
    skipped: int  # nothing to send (sent together with another, or not allowed): done
    started: Any
    last_sent: Any

    @property
    def running(self) -> bool:
        return self.open > 0

    @property
    def done(self) -> int:
        return self.sent + self.skipped

    @property
    def percent(self) -> int:
        """Share done; held and failed deliveries are not done, and the page counts them apart."""
        return int(100 * self.done / self.total) if self.total else 100

    @property
    def eta_seconds(self) -> int | None:
        """Time left at the pace so far (None before the first note went out, or when nothing is waiting)."""
        if not self.open or not self.sent or not self.last_sent or self.last_sent <= self.started:
            return None
        pace = self.sent / (self.last_sent - self.started).total_seconds()
        return int(self.open / pace) + 1


def fanout_progress(rows: QuerySet[Delivery], *, limit: int = 20) -> list[FanOut]:
    """Rule deliveries grouped by (webhook event, rule), most recent first; one GROUP BY query."""
    grouped = (
        rows.filter(webhook_event__isnull=False)
        .order_by()
        .values("webhook_event_id", "rule_id", "rule__name", "issue_key")
        .annotate(
            total=Count("id"),
            sent=Count("id", filter=Q(status=Status.SENT)),
            failed=Count("id", filter=Q(status=Status.FAILED)),
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            held=Count("id", filter=Q(status=Status.HELD)),
            skipped=Count("id", filter=Q(status=Status.SKIPPED)),
            started=Min("created_at"),
            last_sent=Max("sent_at"),
        )
        .order_by("-started")[:limit]
    )
    return [
        FanOut(
            webhook_event_id=g["webhook_event_id"], rule_id=g["rule_id"], rule_name=g["rule__name"] or "(deleted rule)",
            issue_key=g["issue_key"], total=g["total"], sent=g["sent"], failed=g["failed"], open=g["open"],
            held=g["held"], skipped=g["skipped"], started=g["started"], last_sent=g["last_sent"],
        )
        for g in grouped
    ]


def status_counts(rows: QuerySet[Delivery]) -> dict[str, int]:
    counts = dict.fromkeys(Status.values, 0)
    counts.update({r["status"]: r["n"] for r in rows.order_by().values("status").annotate(n=Count("id"))})
    return counts


