"""The delivery engine: send due deliveries of one workspace at Intercom's ceiling, exactly once.

One pump per workspace (a lease in Redis) runs a coordinator thread that owns the database work and a pool
of sender threads that only do HTTP. For each call the coordinator first takes a slot from the shared rate
limiter, then claims one due row (pending → sending, a conditional update), then hands it to a sender. The
outcome is written back by the coordinator:

- sent: status sent, Intercom's part id kept;
- 429: every worker waits until the reset Intercom named; the row goes back to pending for then;
- 5xx / connection failures: back off with full jitter, up to DELIVERY_MAX_ATTEMPTS, then failed;
- ambiguous (no answer after sending, or a gateway's 502/503/504 to a write, which can come after Intercom
  wrote it): back to pending with `verify`, so the conversation is read first;
- 401/403: the row is held, the workspace marked broken, the pump stops; reconnecting resumes the held rows;
- other 4xx and deleted conversations: failed, with the reason, resendable from the delivery log.

A row left in "sending" by a killed worker is found by the sweeper and treated as ambiguous.
"""

import contextlib
import html
import itertools
import logging
import random
import re
import threading
import time
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from connector import database
from connector.connections.health import mark_broken, plain_error
from connector.errors import VendorError, VendorErrorKind
from connector.intercom_client import IntercomClient, client_for
from connector.models import IntercomWorkspace
from deliveries.coordination import Lease, limiter
from deliveries.metrics import rate_limit_wait_record
from deliveries.models import TICKET_ONLY, Action, Delivery, DeliveryAttempt, TargetType
from deliveries.ratelimit import _header
from deliveries.signals import ticket_created
from deliveries.tickets import perform_ticket

logger = logging.getLogger(__name__)
Status = Delivery.Status
LEASE_SECONDS = 15.0
CLOCK_SKEW_SECONDS = 30  # how far Intercom's clock (a part's created_at) may be behind ours
CLAIM_BATCH = 32  # rows claimed per statement; never more than free senders and rate-limit slots
GATHER_SECONDS = 0.05  # how long ended calls may wait to be recorded together (and their senders refilled)
OUTAGES = (redis.RedisError, DatabaseError)
OBSERVE_SECONDS = 0.5  # how stale the limiter's view of "remaining" may get during a fan-out


@dataclass
class Outcome:
    delivery: Delivery
    part_id: str = ""
    error: VendorError | None = None
    crash: Exception | None = None
    note: str = ""  # e.g. "already in the conversation" after a verification
    skipped: bool = False  # nothing that can ever be done (the note says why): recorded as skipped
    started_at: datetime | None = None
    duration_ms: int | None = None

    def attempt(self, status: str, error: str = "") -> DeliveryAttempt:
        """The row the delivery's attempt log keeps for this call."""
        code = self.error.status if self.error is not None else (None if self.crash else 200)
        return DeliveryAttempt(
            delivery_id=self.delivery.pk, at=self.started_at or timezone.now(), outcome=status,
            status_code=code, duration_ms=self.duration_ms, error=error[:2000],
        )


def _backoff(attempts: int) -> float:
    """Full jitter, 2 s doubling to 5 minutes."""
    return random.uniform(0, min(300.0, 2.0 * 2 ** max(attempts - 1, 0)))  # noqa: S311 - not security


# --- claiming and finishing (coordinator thread) ----------------------------------------------------------


def _due_in_order(table: str) -> str:
    """SQL: the workspace's due rows (alias d) that head their conversation's queue, the parameters being
    (pending, now, pending, sending).

    Deliveries into one conversation go out in the order they were planned (created_at, id): a row waits
    while an earlier one into the same conversation is pending (retrying, waiting for the rate limit or its
    coalescing window) or sending, so "Done" never lands before "In Progress". Rows into other conversations
    are not held up. The head is a subquery with LIMIT, which PostgreSQL cannot turn into a join: it stays one
    probe of delivery_conversation_queue per candidate row, whatever the table's statistics say.
    """
    return (
        f"FROM {table} d WHERE d.workspace_id = %s AND d.status = %s AND d.next_attempt_at <= %s "  # noqa: S608
        f"AND d.id = (SELECT e.id FROM {table} e WHERE e.workspace_id = d.workspace_id "
        f"AND e.conversation_id = d.conversation_id AND e.status IN (%s, %s) "
        f"ORDER BY e.created_at, e.id LIMIT 1)"
    )


def claim_batch(workspace_id: int, limit: int) -> list[Delivery]:
    """Claim up to `limit` due deliveries (pending → sending) in one statement; others skip what we hold.

    At most one row per conversation is claimed at a time (see _due_in_order); the notes coalescing with it
    are folded into it here."""
    now = timezone.now()
    table = Delivery._meta.db_table
    lock = database.skip_locked()
    columns = ", ".join(f"{table}.{f.column}" for f in Delivery._meta.concrete_fields)
    with transaction.atomic():
        # One statement claims the rows and returns them whole (raw() applies the fields' converters).
        claimed = Delivery.objects.raw(
            f"UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1 WHERE id IN ("  # noqa: S608
            f"SELECT d.id {_due_in_order(table)} ORDER BY d.next_attempt_at, d.id LIMIT %s {lock}) "
            f"RETURNING {columns}",
            [Status.SENDING, now, workspace_id, Status.PENDING, now, Status.PENDING, Status.SENDING, limit],
        )
        deliveries = sorted(claimed, key=lambda d: (d.created_at, d.pk))
        for delivery in deliveries:
            if delivery.coalesce_key:
                _absorb_coalesced(delivery)
    return deliveries


def due_count(workspace_id: int, limit: int) -> int:
    """How many deliveries could be claimed now, counting no further than `limit` (rate-limit slots are taken
    for exactly these, so rows waiting behind an earlier one in their conversation are not counted)."""
    now = timezone.now()
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT d.id {_due_in_order(table)} LIMIT %s) due",  # noqa: S608
            [workspace_id, Status.PENDING, now, Status.PENDING, Status.SENDING, limit],
        )
        return cursor.fetchone()[0]


def _absorb_coalesced(delivery: Delivery) -> None:
    """Send the notes of the same rule, issue and conversation that come right after this one (still pending)
    as one note with it. A note planned in between, by another rule, ends the run: merging past it would move
    a later update ahead of it."""
    later = (
        Delivery.objects.filter(
            workspace_id=delivery.workspace_id, conversation_id=delivery.conversation_id, status=Status.PENDING
        )
        .filter(Q(created_at__gt=delivery.created_at) | Q(created_at=delivery.created_at, pk__gt=delivery.pk))
        .order_by("created_at", "id")
        .values_list("pk", "coalesce_key")
    )
    run = [pk for pk, _ in itertools.takewhile(lambda row: row[1] == delivery.coalesce_key, later)]
    if not run:
        return
    others = list(
        Delivery.objects.select_for_update(skip_locked=True)
        .filter(pk__in=run, status=Status.PENDING)
        .order_by("created_at", "id")
    )
    if not others:
        return
    bodies = [delivery.body, *(o.body for o in others)]
    delivery.body = f"<p><b>{len(bodies)} updates on {html.escape(delivery.issue_key)}</b></p>" + "".join(bodies)
    delivery.save(update_fields=["body"])
    Delivery.objects.filter(pk__in=[o.pk for o in others]).update(
        status=Status.SKIPPED, claimed_at=None, last_error=f"Sent together with delivery #{delivery.pk}."
    )


def finish(outcome: Outcome) -> str:
    """Record the outcome, only if the row is still ours (status sending). Returns the new status."""
    d = outcome.delivery
    now = timezone.now()
    fields: dict = {"claimed_at": None}
    if outcome.crash is not None:
        # We cannot tell how far the call got: check the conversation before trying again.
        status = Status.FAILED if d.attempts >= settings.DELIVERY_MAX_ATTEMPTS else Status.PENDING
        fields.update(
            last_error=f"Internal error: {type(outcome.crash).__name__}: {outcome.crash}"[:2000],
            next_attempt_at=now + timedelta(seconds=_backoff(d.attempts)),
            verify=True,
        )
    elif outcome.skipped:
        status = Status.SKIPPED
        fields.update(last_error=outcome.note[:2000], verify=False)
    elif outcome.error is None:
        status = Status.SENT
        del fields["claimed_at"]  # kept: when the call that sent it was claimed
        fields.update(sent_at=now, part_id=outcome.part_id[:64], last_error=outcome.note, verify=False)
    else:
        err = outcome.error
        fields["last_error"] = str(err)[:2000]
        if err.kind == VendorErrorKind.RATE_LIMITED:
            status = Status.PENDING
            retry_at = err.retry_at or time.time() + 10
            fields.update(
                next_attempt_at=datetime.fromtimestamp(retry_at, tz=UTC), attempts=max(d.attempts - 1, 0)
            )  # waiting for the limit is not a failed attempt
        elif err.kind == VendorErrorKind.AUTH:
            status = Status.HELD
        elif err.unreachable:
            status = Status.FAILED if d.attempts >= settings.DELIVERY_MAX_ATTEMPTS else Status.PENDING
            fields["next_attempt_at"] = now + timedelta(seconds=_backoff(d.attempts))
            if err.kind == VendorErrorKind.AMBIGUOUS:
                fields["verify"] = True
                fields["last_error"] = (
                    f"{err}. Intercom may have applied it, so the conversation is checked before any resend."
                )[:2000]
        elif err.kind == VendorErrorKind.NOT_FOUND:
            status = Status.FAILED
            fields["last_error"] = f"The {d.target_type} no longer exists in Intercom."
        else:
            status = Status.FAILED
    if Delivery.objects.filter(pk=d.pk, status=Status.SENDING).update(status=status, **fields):
        DeliveryAttempt.objects.bulk_create([outcome.attempt(status, fields.get("last_error", ""))])
    return status


def finish_sent(outcomes: list[Outcome]) -> int:
    """Record many successful calls in one statement (the hot path of a fan-out)."""
    if not outcomes:
        return 0
    if not database.updates_from_values():
        return sum(finish(o) == Status.SENT for o in outcomes)
    table = Delivery._meta.db_table
    values = ", ".join(["(%s::bigint, %s, %s)"] * len(outcomes))
    params: list = []
    for o in outcomes:
        params += [o.delivery.pk, o.part_id[:64], o.note]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET status = %s, sent_at = %s, verify = false, "  # noqa: S608
            f"part_id = v.part_id, last_error = v.note FROM (VALUES {values}) AS v(id, part_id, note) "
            f"WHERE d.id = v.id AND d.status = %s RETURNING d.id",
            [Status.SENT, timezone.now(), *params, Status.SENDING],
        )
        ours = {row[0] for row in cursor.fetchall()}
        _sent_attempts_record([o for o in outcomes if o.delivery.pk in ours], cursor)
    return len(ours)


def _sent_attempts_record(outcomes: list[Outcome], cursor) -> None:
    """The attempt log's rows for a batch of sent notes, in one statement without a model per row (bulk_create
    spent more CPU preparing the rows than the rest of the recording)."""
    if not outcomes:
        return
    now = timezone.now()
    cursor.execute(
        f"INSERT INTO {DeliveryAttempt._meta.db_table} (delivery_id, at, outcome, status_code, duration_ms, error) "  # noqa: S608
        "SELECT id, at, %s, 200, duration_ms, error FROM unnest(%s::bigint[], %s::timestamptz[], %s::integer[], "
        "%s::text[]) AS a(id, at, duration_ms, error)",
        [Status.SENT, [o.delivery.pk for o in outcomes], [o.started_at or now for o in outcomes],
         [o.duration_ms for o in outcomes], [o.note[:2000] for o in outcomes]],
    )


# --- talking to Intercom (sender threads) -------------------------------------------------------------------

_TAGS = re.compile(r"<[^>]+>")


def _text(value: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", value or "")).split())


def _already_applied(d: Delivery, conversation: dict, admin_id: str) -> str | None:
    """After an ambiguous outcome: is our write already in the conversation? Returns its part id if so."""
    if d.action in (Action.NOTE, Action.REPLY):
        want = _text(d.body)
        # Only parts written since this delivery was planned: the same transition made twice renders the same
        # note, and the earlier one must not pass for this one.
        since = d.created_at.timestamp() - CLOCK_SKEW_SECONDS
        parts = (conversation.get("conversation_parts") or {}).get("conversation_parts") or []
        for part in reversed(parts):
            author = part.get("author") or {}
            if (
                str(author.get("id")) == str(admin_id)
                and (part.get("created_at") or since) >= since
                and _text(part.get("body") or "") == want
            ):
                return str(part.get("id") or "found")
        return None
    state = conversation.get("state")
    if d.action == Action.CLOSE and state == "closed":
        return "state"
    if d.action == Action.SNOOZE and state == "snoozed":
        return "state"
    if d.action == Action.REOPEN and state == "open":
        return "state"
    if d.action == Action.ASSIGN and str(conversation.get("admin_assignee_id") or "") == str(
        d.params.get("assignee_id")
    ):
        return "state"
    if d.action == Action.TAG:
        tags = (conversation.get("tags") or {}).get("tags") or []
        if any(str(t.get("id")) == str(d.params.get("tag_id")) for t in tags):
            return "state"
    return None


def _snooze_until(params: dict) -> int:
    if params.get("until"):
        parsed = parse_datetime(str(params["until"]))
        if parsed:
            return int(parsed.timestamp())
    return int(time.time()) + int(params.get("seconds") or 3600)


def perform(d: Delivery, client: IntercomClient, admin_id: str, take_slot) -> Outcome:
    """Make the call(s) for one delivery, timed for its attempt log."""
    started_at, started = timezone.now(), time.monotonic()
    outcome = _perform(d, client, admin_id, take_slot)
    outcome.started_at, outcome.duration_ms = started_at, int((time.monotonic() - started) * 1000)
    return outcome


def _perform(d: Delivery, client: IntercomClient, admin_id: str, take_slot) -> Outcome:
    """Make the call(s) for one delivery. `take_slot()` blocks for another rate-limit slot (extra calls)."""
    try:
        if d.target_type == TargetType.TICKET:
            result = perform_ticket(
                d, client, admin_id, take_slot, same_text=lambda a, b: _text(a) == _text(b), snooze_until=_snooze_until
            )
            return Outcome(d, part_id=result.part_id, note=result.note, skipped=result.skipped)
        if d.action in TICKET_ONLY:
            return Outcome(d, note="Only tickets have a state and ticket attributes.", skipped=True)
        if d.verify or d.action == Action.REOPEN:
            conversation = client.conversation(d.conversation_id)
            if d.verify:
                found = _already_applied(d, conversation, admin_id)
                if found:
                    return Outcome(d, part_id="" if found == "state" else found, note="Already in the conversation.")
            if d.action == Action.REOPEN and conversation.get("state") == "open":
                return Outcome(d, note="The conversation was already open.")
            take_slot()
        if d.action in (Action.NOTE, Action.REPLY):
            kind = "note" if d.action == Action.NOTE else "comment"
            result = client.reply(d.conversation_id, admin_id=admin_id, body=d.body, message_type=kind)
            parts = (result.get("conversation_parts") or {}).get("conversation_parts") or []
            return Outcome(d, part_id=str(parts[-1].get("id")) if parts else "")
        if d.action == Action.CLOSE:
            client.close_conversation(d.conversation_id, admin_id=admin_id)
        elif d.action == Action.REOPEN:
            client.open_conversation(d.conversation_id, admin_id=admin_id)
            if d.params.get("unassign"):
                take_slot()
                client.assign_conversation(d.conversation_id, admin_id=admin_id, assignee_id="0")
        elif d.action == Action.SNOOZE:
            client.snooze_conversation(d.conversation_id, admin_id=admin_id, until=_snooze_until(d.params))
        elif d.action == Action.ASSIGN:
            client.assign_conversation(
                d.conversation_id,
                admin_id=admin_id,
                assignee_id=str(d.params["assignee_id"]),
                assignee_type=d.params.get("assignee_type", "admin"),
            )
        elif d.action == Action.TAG:
            client.tag_conversation(d.conversation_id, admin_id=admin_id, tag_id=str(d.params["tag_id"]))
        return Outcome(d)
    except VendorError as exc:
        return Outcome(d, error=exc)
    except Exception as exc:
        logger.exception("delivery.crashed", extra={"delivery_id": d.pk})
        return Outcome(d, crash=exc)


# --- the pump -------------------------------------------------------------------------------------------------


class HeadersSampler:
    """Hands a response's rate-limit headers to the shared limiter when they can say something new: a
    different limit or window reset, or OBSERVE_SECONDS since the last time (what is left in the window, which
    counts other apps' calls). During a fan-out every response carries nearly the same headers; sending each
    to Redis cost a round trip per note and taught the limiter nothing."""

    def __init__(self, rl, key: str, *, clock=time.monotonic):
        self.rl, self.key, self.clock = rl, key, clock
        self._last: tuple = ()
        self._at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self, headers) -> None:
        seen = (_header(headers, "X-RateLimit-Limit"), _header(headers, "X-RateLimit-Reset"))
        now = self.clock()
        with self._lock:
            if seen == self._last and now - self._at < OBSERVE_SECONDS:
                return
            self._last, self._at = seen, now
        self.rl.observe(self.key, headers)


def _mark_broken(workspace: IntercomWorkspace, error: VendorError) -> None:
    mark_broken(workspace, plain_error(workspace, error))


def pump(workspace_id: int, *, concurrency: int | None = None, max_seconds: float = 600.0) -> dict:
    """Send this workspace's due deliveries until none is due (or max_seconds). Safe to start many times."""
    lease = Lease(f"pump:{workspace_id}", LEASE_SECONDS)
    if not lease.acquire():
        return {"skipped": "another pump is running"}
    counts: dict[str, int] = {}
    while True:
        try:
            workspace = IntercomWorkspace.objects.filter(pk=workspace_id).first()
            if workspace is None or not workspace.is_usable or not workspace.app_admin_id:
                return {"skipped": "workspace missing, broken or without note author"}
            for status, n in _run(workspace, lease, concurrency or settings.DELIVERY_CONCURRENCY, max_seconds).items():
                counts[status] = counts.get(status, 0) + n
        except OUTAGES as exc:
            # Redis or PostgreSQL went away. Rows in flight stay "sending" and are checked before any resend;
            # the sweeper starts a new pump when both are back.
            logger.warning("delivery.pump_interrupted", extra={"workspace_id": workspace_id, "error": repr(exc)})
            return {**counts, "interrupted": 1}
        finally:
            _quietly(lease.release)
        # A pump started while we held the lease gave up; rows it came for may have committed since our last
        # claim. Look once more after letting go, so that work is never left waiting for the sweeper.
        try:
            if not _has_due_work(workspace_id) or not lease.acquire():
                return counts
        except OUTAGES:
            return counts


def _quietly(action) -> None:
    with contextlib.suppress(*OUTAGES):  # e.g. the lease: it expires by itself
        action()


def _has_due_work(workspace_id: int) -> bool:
    return due_count(workspace_id, 1) > 0


def _gathered(in_flight: set[Future], *, free: int, enough: int) -> set[Future]:
    """The calls that have ended, once `enough` senders are free or GATHER_SECONDS passed: under a fan-out,
    recording and claiming then happen once per batch of notes rather than once per note (each is a few
    round trips to PostgreSQL and Redis). A lone note, or one behind a full window, waits for nothing."""
    gather_until = time.monotonic() + GATHER_SECONDS
    while True:
        done = {f for f in in_flight if f.done()}
        left = gather_until - time.monotonic()
        if free + len(done) >= enough or len(done) == len(in_flight) or left <= 0:
            return done
        wait(in_flight - done, timeout=left, return_when=FIRST_COMPLETED)


def _run(workspace: IntercomWorkspace, lease: Lease, concurrency: int, max_seconds: float) -> dict:
    rl = limiter()
    key = str(workspace.pk)
    client = client_for(workspace)
    client.on_headers = HeadersSampler(rl, key)  # one pump per workspace holds the client
    admin_id = workspace.app_admin_id
    counts: dict[str, int] = {}
    stop = threading.Event()
    deadline = time.monotonic() + max_seconds
    last_renew = time.monotonic()

    def take_slot() -> None:
        while True:
            delay = rl.acquire(key)
            if delay == 0:
                return
            rate_limit_wait_record(key, min(delay, 1.0))
            time.sleep(min(delay, 1.0))

    def send(d: Delivery) -> Outcome:
        return perform(d, client, admin_id, take_slot)

    def record(futures) -> None:
        sent = []
        for future in futures:
            outcome = future.result()
            if outcome.error is None and outcome.crash is None and not outcome.skipped:
                sent.append(outcome)
                continue
            if outcome.error is not None and outcome.error.kind == VendorErrorKind.RATE_LIMITED:
                rl.block_until(key, outcome.error.retry_at or time.time() + 10)
            if outcome.error is not None and outcome.error.kind == VendorErrorKind.AUTH:
                stop.set()
                _mark_broken(workspace, outcome.error)
            status = finish(outcome)
            counts[status] = counts.get(status, 0) + 1
        if sent:
            counts[Status.SENT] = counts.get(Status.SENT, 0) + finish_sent(sent)
            for o in sent:
                if o.delivery.action == Action.TRACKER_CREATE and o.part_id:
                    ticket_created.send_robust(sender=Delivery, delivery_id=o.delivery.pk, ticket_id=o.part_id)

    in_flight: set[Future] = set()
    refill_at = max(1, min(CLAIM_BATCH, concurrency // 4))
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"deliver-{key}") as executor:
        while not stop.is_set() and time.monotonic() < deadline:
            done = _gathered(in_flight, free=concurrency - len(in_flight), enough=refill_at)
            record(done)
            in_flight -= done
            if time.monotonic() - last_renew > LEASE_SECONDS / 3:
                if not lease.renew():
                    break  # someone else took over (we were too slow); let them
                last_renew = time.monotonic()
            free = concurrency - len(in_flight)
            if free <= 0:
                wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                continue
            due = due_count(workspace.pk, min(free, CLAIM_BATCH))
            if not due:
                if not in_flight:
                    break
                wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                continue
            # Slots for exactly the rows that are due (no budget wasted), then claim: a row is only "sending"
            # while its call can really go out.
            slots, delay = rl.acquire_many(key, due)
            if slots == 0:  # nothing more can go out before the window turns: no need to wake per call that ends
                rate_limit_wait_record(key, min(delay, 0.5))
                if in_flight:
                    wait(in_flight, timeout=min(delay, 0.5), return_when=ALL_COMPLETED)
                else:
                    time.sleep(min(delay, 0.5))
                continue
            claimed = claim_batch(workspace.pk, slots)
            if not claimed:
                if not in_flight:
                    break
                wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                continue
            in_flight.update(executor.submit(send, delivery) for delivery in claimed)
        wait(in_flight)  # let the calls in flight end, then record them
        _quietly(lambda: record(in_flight))
    return counts


# --- housekeeping -----------------------------------------------------------------------------------------


def release_stale_sending() -> int:
    """Rows a killed worker left in "sending": back to pending, to be checked against the conversation."""
    cutoff = timezone.now() - timedelta(seconds=settings.DELIVERY_STALE_SENDING_SECONDS)
    return Delivery.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).update(
        status=Status.PENDING,
        verify=True,
        claimed_at=None,
        next_attempt_at=timezone.now(),
        last_error="The worker stopped during the call; the conversation is checked before any resend.",
    )


def workspaces_with_due_work() -> list[int]:
    return list(
        Delivery.objects.filter(
            status=Status.PENDING, next_attempt_at__lte=timezone.now(), workspace__health__in=["ok", "unknown"]
        )
        .values_list("workspace_id", flat=True)
        .distinct()
    )


def release_held(workspace_id: int) -> int:
    """After a reconnect: held deliveries go back to pending, now."""
    return Delivery.objects.filter(workspace_id=workspace_id, status=Status.HELD).update(
        status=Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )


def pump_running(workspace_id: int) -> bool:
    return Lease(f"pump:{workspace_id}", LEASE_SECONDS).held()
