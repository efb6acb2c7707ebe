"""The only writer of new Delivery rows and the only starter of pumps.

Rule planning, link events, comments from Jira users and test notes all create their deliveries here, and
every write that creates or resets deliveries starts the workspace's pump once it commits. The pump and the
sweeper do the sending, never a web request. Which links of an issue receive a delivery is the caller's
queryset (linking's selectors say which links are reachable); this module only turns them into rows.
"""

import json
import logging
from collections.abc import Iterable
from datetime import timedelta

from celery import current_app, current_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from connector import database
from deliveries import engine
from deliveries.models import TICKET_ONLY, Delivery, DeliveryAttempt, TargetType
from deliveries.selectors import RESENDABLE

logger = logging.getLogger(__name__)
Status = Delivery.Status
PUMP_TASK = "deliveries.tasks.delivery_pump"
PURGE_BATCH = 1000

# Columns every row planned from links gets as a value; the key, workspace and conversation come from the link.
_PLANNED_COLUMNS = (
    "source", "webhook_event", "rule", "issue_id", "issue_key", "action", "body", "status", "verify", "attempts",
    "next_attempt_at", "last_error", "part_id", "created_at",
)


# --- creating rows -----------------------------------------------------------------------------------------


def delivery_create(*, idempotency_key: str, start_pump: bool = True, **fields) -> tuple[Delivery, bool]:
    """One delivery, at most once per idempotency key; its pump starts on commit when it is new (unless the
    caller creates several and starts it once)."""
    fields.setdefault("next_attempt_at", timezone.now())
    delivery, created = Delivery.objects.get_or_create(idempotency_key=idempotency_key, defaults=fields)
    if created and start_pump:
        pumps_start_on_commit([delivery.workspace_id])
    return delivery, created


def delivery_create_many(rows: list[dict]) -> int:
    """Deliveries (their fields, each with a key not taken yet) in one statement; returns how many were given.
    A key taken meanwhile is skipped. Pumps start on commit."""
    if not rows:
        return 0
    now = timezone.now()
    Delivery.objects.bulk_create([Delivery(**{"next_attempt_at": now, **row}) for row in rows], ignore_conflicts=True)
    pumps_start_on_commit({row["workspace_id"] for row in rows})
    return len(rows)


def delivery_create_for_links(links: QuerySet, *, key_prefix: str, coalesce_prefix: str, values: dict) -> int:
    """One row per link in `links` (any queryset with workspace_id, conversation_id and target_type), in one
    INSERT … SELECT with ON CONFLICT DO NOTHING on the key: the same few queries for 1 or 10,000 links, nothing
    held in memory, and planning the same event twice adds nothing. Returns how many rows were new; pumps are
    the caller's (it knows the workspaces).

    The key of a conversation's row is what it always was; a ticket's adds ":ticket", so a ticket and a
    conversation with the same id never share a key. Actions only tickets have (`TICKET_ONLY`) skip
    conversations: the SELECT keeps ticket links only."""
    table = Delivery._meta
    col = {f.name: f.column for f in table.concrete_fields}
    if values["action"] in TICKET_ONLY:
        links = links.filter(target_type=TargetType.TICKET)
    source = links.order_by().values("workspace_id", "conversation_id", "target_type")
    source_sql, source_params = source.query.sql_with_params()
    # (column, SQL expression, parameters); identifiers come from model metadata, values are parameters.
    select = [
        (
            "idempotency_key",
            "%s || CAST(l.workspace_id AS TEXT) || ':' || l.conversation_id "
            "|| CASE WHEN l.target_type = %s THEN '' ELSE ':' || l.target_type END",
            [key_prefix, TargetType.CONVERSATION],
        ),
        ("workspace", "l.workspace_id", []),
        ("conversation_id", "l.conversation_id", []),
        ("target_type", "l.target_type", []),
        ("coalesce_key", "%s || l.conversation_id" if coalesce_prefix else "''",
         [coalesce_prefix] if coalesce_prefix else []),
    ]
    select += [(name, "%s", [values[name]]) for name in _PLANNED_COLUMNS]
    select.append(("params", database.json_placeholder(), [json.dumps(values["params"])]))
    sql = (
        f"INSERT INTO {table.db_table} ({', '.join(col[name] for name, _, _ in select)}) "  # noqa: S608
        f"SELECT {', '.join(expr for _, expr, _ in select)} FROM ({source_sql}) l "
        f"ON CONFLICT ({col['idempotency_key']}) DO NOTHING"
    )
    params = [value for _, _, values_ in select for value in values_] + list(source_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- changing rows -----------------------------------------------------------------------------------------


@transaction.atomic
def delivery_resend(*, ids: Iterable[int], requested_by: str = "") -> int:
    """Failed, held or skipped deliveries go back to pending now, with a fresh attempt count.

    A row that ever reached "sending" may have got through before it failed (a timeout, a killed worker), so
    it is marked to be verified: the engine reads the conversation before writing again.
    """
    # A purged row has no body left to send again.
    rows = Delivery.objects.filter(pk__in=list(ids), status__in=RESENDABLE, purged_at__isnull=True)
    workspaces = set(rows.values_list("workspace_id", flat=True).distinct())
    now = timezone.now()
    reached_sending = Q(claimed_at__isnull=False) | Q(attempts__gt=0)
    rows.filter(reached_sending).update(verify=True)
    chosen = list(rows.values_list("pk", flat=True))
    count = rows.update(status=Status.PENDING, attempts=0, next_attempt_at=now, last_error="")
    # The attempt log keeps what happened before and says who asked to send it again.
    note = f"Resend requested by {requested_by}." if requested_by else "Resend requested."
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(delivery_id=pk, at=now, outcome=Status.PENDING, error=note) for pk in chosen
    )
    pumps_start_on_commit(workspaces)
    return count


def delivery_body_purge(*, batch: int = PURGE_BATCH) -> int:
    """Empty the rendered bodies of finished deliveries older than RETENTION_DAYS, a batch per statement. The
    rows, status, attempts and errors stay (the log's counts and outcomes). Rows still to be sent (pending,
    sending, held) keep theirs."""
    cutoff = timezone.now() - timedelta(days=settings.RETENTION_DAYS)
    due = Delivery.objects.filter(
        created_at__lt=cutoff, purged_at__isnull=True, status__in=(Status.SENT, Status.FAILED, Status.SKIPPED)
    ).exclude(body="")
    purged = 0
    while ids := list(due.order_by("pk").values_list("pk", flat=True)[:batch]):
        purged += due.filter(pk__in=ids).update(body="", purged_at=timezone.now())
    return purged


def deliveries_resume(workspace_id: int) -> int:
    """After a reconnect: the workspace's held deliveries go out again."""
    released = engine.release_held(workspace_id)
    pumps_start_on_commit([workspace_id])
    return released


# --- pumps -------------------------------------------------------------------------------------------------


def pump_enqueue(workspace_id: int) -> None:
    """Ask a worker to run the workspace's pump; a broker outage only delays it (the sweeper starts it later)."""
    try:
        current_app.send_task(PUMP_TASK, args=[workspace_id])
    except Exception as exc:
        logger.warning("delivery.enqueue_failed", extra={"workspace_id": workspace_id, "error": type(exc).__name__})


def _pump_inline(workspace_id: int) -> bool:
    """Run the pump in the current worker task, if there is one. False when not on a worker."""
    if not current_task or not current_task.request.id:  # a proxy: falsy outside a running task
        return False
    try:
        engine.pump(workspace_id)
    except Exception:
        logger.exception("delivery.pump_failed", extra={"workspace_id": workspace_id})
        pump_enqueue(workspace_id)  # let a fresh task try; the rows are safe in the database
    return True


def pumps_start_on_commit(workspace_ids: Iterable[int], *, here: bool = False) -> None:
    """Once the rows commit, start the workspaces' pumps through the broker; with `here`, in the current task
    when we run on a worker (webhook processing: saves a broker round trip on the way to Intercom)."""
    ids = sorted(set(workspace_ids))
    if not ids:
        return

    def start() -> None:
        for workspace_id in ids:
            if not (here and _pump_inline(workspace_id)):
                pump_enqueue(workspace_id)

    transaction.on_commit(start)
