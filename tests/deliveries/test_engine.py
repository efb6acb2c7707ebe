"""The delivery engine against the Intercom simulator: every note exactly once, whatever Intercom does."""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from connector.intercom_client import IntercomClient
from deliveries import engine
from deliveries.models import Delivery
from tests.conftest import workspace_for
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace(intercom_sim, redis_client):
    ws = workspace_for(intercom_sim)
    redis_client.delete(*redis_client.keys(f"*{{{ws.pk}}}*") or ["none"], *redis_client.keys(f"*pump:{ws.pk}") or [])
    return ws


def deliveries(workspace, conversations, *, action="note", idempotency_key=None, event="e1", body=None, **fields):
    """One delivery per conversation, as one planned event would make them (`body` may use {n})."""
    now = timezone.now()
    return Delivery.objects.bulk_create(
        DeliveryFactory.build(
            idempotency_key=idempotency_key or f"test:{event}:{cid}:{action}:{n}",
            workspace=workspace,
            conversation_id=cid,
            action=action,
            body=(body or "<p>SUP-1 moved to <b>Done</b> ({n})</p>").format(n=n),
            next_attempt_at=now,
            **fields,
        )
        for n, cid in enumerate(conversations)
    )


def notes_per_conversation(sim):
    return sim.counts_by_conversation("note")


def test_the_pump_sends_every_due_note_once(intercom_sim, workspace):
    conversations = intercom_sim.add_conversations(20)
    deliveries(workspace, conversations)
    counts = engine.pump(workspace.pk)
    assert counts == {"sent": 20}
    assert notes_per_conversation(intercom_sim) == dict.fromkeys(conversations, 1)
    sent = Delivery.objects.filter(status="sent")
    assert sent.count() == 20 and all(d.part_id for d in sent)
    assert intercom_sim.violations == []
    # Each leaves one line in its attempt log: the call's time, Intercom's answer and how long it took.
    for d in sent.prefetch_related("attempt_log"):
        (attempt,) = d.attempt_log.all()
        assert (attempt.outcome, attempt.status_code, attempt.error) == ("sent", 200, "")
        assert attempt.at <= d.sent_at and attempt.duration_ms is not None


def test_notes_are_written_as_the_app_admin(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    deliveries(workspace, [conversation])
    engine.pump(workspace.pk)
    (entry,) = intercom_sim.writes_for(conversation, "note")
    assert entry.admin_id == workspace.app_admin_id


def test_server_errors_are_retried_later_and_delivered_once(intercom_sim, workspace, monkeypatch):
    conversations = intercom_sim.add_conversations(5)
    deliveries(workspace, conversations)
    monkeypatch.setattr(engine, "_backoff", lambda attempts: 60.0)  # a jitter near 0 would retry in this pump
    intercom_sim.faults.fail_next, intercom_sim.faults.fail_status = 3, 500
    engine.pump(workspace.pk)
    retrying = Delivery.objects.filter(status="pending")
    assert retrying.count() == 3 and all("500" in d.last_error for d in retrying)
    retrying.update(next_attempt_at=timezone.now())  # as the sweeper would find them once due
    engine.pump(workspace.pk)
    assert Delivery.objects.filter(status="sent").count() == 5
    assert notes_per_conversation(intercom_sim) == dict.fromkeys(conversations, 1)


@override_settings(DELIVERY_MAX_ATTEMPTS=2)
def test_a_delivery_that_keeps_failing_ends_as_failed_with_the_error(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    deliveries(workspace, [conversation])
    intercom_sim.faults.error_rate, intercom_sim.faults.error_status = 1.0, 503
    for _ in range(2):
        engine.pump(workspace.pk)
        Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "503" in delivery.last_error


def test_a_deleted_conversation_fails_permanently_with_a_plain_reason(intercom_sim, workspace):
    deliveries(workspace, ["999999"])
    engine.pump(workspace.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.last_error == "The conversation no longer exists in Intercom."


def test_a_revoked_token_holds_deliveries_until_reconnect(intercom_sim, workspace):
    from connector.connections.health import mark_ok

    conversations = intercom_sim.add_conversations(4)
    deliveries(workspace, conversations)
    intercom_sim.revoke_token()
    engine.pump(workspace.pk)
    workspace.refresh_from_db()
    assert workspace.health == "broken"
    assert Delivery.objects.filter(status="held").count() >= 1
    assert engine.pump(workspace.pk) == {"skipped": "workspace missing, broken or without note author"}
    intercom_sim.restore_token()
    mark_ok(workspace)  # what reconnecting does: held deliveries are released
    assert Delivery.objects.filter(status="held").count() == 0
    engine.pump(workspace.pk)
    assert notes_per_conversation(intercom_sim) == dict.fromkeys(conversations, 1)


@override_settings(VENDOR_TIMEOUT_SECONDS=0.5)
def test_a_timeout_after_intercom_wrote_the_note_does_not_send_it_twice(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    deliveries(workspace, [conversation])
    intercom_sim.faults.hang_after_next, intercom_sim.faults.hang_seconds = 1, 2
    engine.pump(workspace.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.verify
    Delivery.objects.update(next_attempt_at=timezone.now())
    engine.pump(workspace.pk)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert notes_per_conversation(intercom_sim) == {conversation: 1}


def test_an_identical_note_from_an_earlier_transition_does_not_pass_for_the_one_being_checked(
    intercom_sim, workspace
):
    (conversation,) = intercom_sim.add_conversations(1)
    (earlier,) = deliveries(workspace, [conversation], event="e1")
    engine.pump(workspace.pk)
    intercom_sim.conversations[conversation]["conversation_parts"]["conversation_parts"][-1]["created_at"] -= 3600
    (later,) = deliveries(workspace, [conversation], event="e2", verify=True)  # same text; its call was ambiguous
    engine.pump(workspace.pk)
    later.refresh_from_db()
    earlier.refresh_from_db()
    assert later.status == "sent" and later.part_id != earlier.part_id
    assert notes_per_conversation(intercom_sim) == {conversation: 2}


@override_settings(VENDOR_TIMEOUT_SECONDS=0.5)
def test_a_timeout_before_intercom_wrote_the_note_sends_it_after_checking(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    deliveries(workspace, [conversation])
    intercom_sim.faults.hang_before_next, intercom_sim.faults.hang_seconds = 1, 2
    engine.pump(workspace.pk)
    Delivery.objects.update(next_attempt_at=timezone.now())
    engine.pump(workspace.pk)
    assert Delivery.objects.get().status == "sent"
    assert notes_per_conversation(intercom_sim) == {conversation: 1}


@override_settings(DELIVERY_STALE_SENDING_SECONDS=1)
def test_a_delivery_left_sending_by_a_killed_worker_is_checked_before_resending(intercom_sim, workspace):
    done, not_done = intercom_sim.add_conversations(2)
    rows = deliveries(workspace, [done, not_done], status="sending", claimed_at=timezone.now() - timedelta(seconds=5))
    # The killed worker got the first note out before it died.
    IntercomClient(token=intercom_sim.default_token, base_url=intercom_sim.url).reply(
        done, admin_id=workspace.app_admin_id, body=rows[0].body
    )
    assert engine.release_stale_sending() == 2
    engine.pump(workspace.pk)
    assert Delivery.objects.filter(status="sent").count() == 2
    assert notes_per_conversation(intercom_sim) == {done: 1, not_done: 1}


def test_a_429_makes_every_sender_wait_for_the_reset(intercom_sim, workspace):
    conversations = intercom_sim.add_conversations(6)
    deliveries(workspace, conversations)
    intercom_sim.throttle_for(1.5)
    started = time.monotonic()
    results = [engine.pump(workspace.pk)]
    assert Delivery.objects.filter(status="pending").count() == 6  # all got 429 and wait for the reset
    while Delivery.objects.filter(status="sent").count() < 6 and time.monotonic() - started < 30:
        Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())  # as the sweeper would
        results.append(engine.pump(workspace.pk))
    assert Delivery.objects.filter(status="sent").count() == 6, results
    assert notes_per_conversation(intercom_sim) == dict.fromkeys(conversations, 1)
    assert time.monotonic() - started >= 1.0


def test_only_one_pump_runs_per_workspace(intercom_sim, workspace):
    from deliveries.coordination import Lease

    lease = Lease(f"pump:{workspace.pk}", 5)
    assert lease.acquire()
    try:
        assert engine.pump(workspace.pk) == {"skipped": "another pump is running"}
    finally:
        lease.release()


def test_reopen_only_touches_closed_conversations(intercom_sim, workspace):
    closed = intercom_sim.add_conversation(state="closed")["id"]
    open_ = intercom_sim.add_conversation(state="open")["id"]
    deliveries(workspace, [closed, open_], action="reopen")
    engine.pump(workspace.pk)
    assert [e.kind for e in intercom_sim.writes_for(closed)] == ["open"]
    assert intercom_sim.writes_for(open_) == []


def test_coalesced_notes_go_out_as_one(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    for n in range(3):
        deliveries(
            workspace,
            [conversation],
            coalesce_key=f"r1:i1:note:{conversation}",
            idempotency_key=f"c{n}",
            issue_key="SUP-1",
        )
    engine.pump(workspace.pk)
    (entry,) = intercom_sim.writes_for(conversation, "note")
    assert "3 updates on SUP-1" in entry.body
    assert Delivery.objects.filter(status="skipped").count() == 2


def pump_until_settled(workspace, *, rounds=10):
    """Pump, and make retries due at once (as the sweeper would once their backoff ends), until none is left."""
    for _ in range(rounds):
        engine.pump(workspace.pk)
        retrying = Delivery.objects.filter(status="pending")
        if not retrying.exists():
            return
        retrying.update(next_attempt_at=timezone.now())
    raise AssertionError(f"deliveries still pending after {rounds} rounds")


def test_gateway_errors_after_intercom_wrote_the_note_never_duplicate_it(intercom_sim, workspace):
    conversations = intercom_sim.add_conversations(100)
    deliveries(workspace, conversations)
    # Gateways answer 502/504 although Intercom wrote the note: 20 % of the writes.
    intercom_sim.faults.update({"write_error_rate": 0.2, "write_error_status": 502})
    pump_until_settled(workspace)
    assert intercom_sim.duplicates() == []
    assert notes_per_conversation(intercom_sim) == dict.fromkeys(conversations, 1)
    assert Delivery.objects.filter(status="sent").count() == 100
    assert intercom_sim.status_counts[502] > 0  # the fault did fire


def test_a_gateway_error_after_the_write_is_checked_and_says_so(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    deliveries(workspace, [conversation])
    intercom_sim.faults.update({"fail_after_next": 1, "write_error_status": 504})
    engine.pump(workspace.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.verify
    assert "504" in delivery.last_error and "checked before" in delivery.last_error
    pump_until_settled(workspace)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == ("sent", "Already in the conversation.")
    assert notes_per_conversation(intercom_sim) == {conversation: 1}


def test_a_connection_dropped_after_intercom_wrote_the_note_does_not_send_it_twice(intercom_sim, workspace):
    conversations = intercom_sim.add_conversations(3)
    deliveries(workspace, conversations)
    intercom_sim.faults.update({"drop_after_next": 3})
    pump_until_settled(workspace)
    assert notes_per_conversation(intercom_sim) == dict.fromkeys(conversations, 1)


def note_bodies(sim, conversation):
    return [engine._text(e.body) for e in sim.writes_for(conversation, "note")]


def test_a_later_note_into_a_conversation_waits_while_an_earlier_one_retries(intercom_sim, workspace, monkeypatch):
    conversations = intercom_sim.add_conversations(10)
    deliveries(workspace, conversations, event="progress", body="<p>SUP-1 moved to <b>In Progress</b></p>")
    monkeypatch.setattr(engine, "_backoff", lambda attempts: 60.0)  # a jitter near 0 would retry in this pump
    intercom_sim.faults.update({"fail_next": 10, "fail_status": 500})
    engine.pump(workspace.pk)
    retrying = Delivery.objects.filter(status="pending")
    assert retrying.count() == 10
    retrying.update(next_attempt_at=timezone.now() + timedelta(minutes=1))  # still backing off
    deliveries(workspace, conversations, event="done", body="<p>SUP-1 moved to <b>Done</b></p>")
    engine.pump(workspace.pk)
    assert intercom_sim.ledger == []  # "Done" is due, but "In Progress" goes first
    pump_until_settled(workspace)
    for conversation in conversations:
        assert note_bodies(intercom_sim, conversation) == ["SUP-1 moved to In Progress", "SUP-1 moved to Done"]


def test_an_action_waits_for_the_note_planned_before_it(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    (note,) = deliveries(workspace, [conversation], event="done")
    Delivery.objects.filter(pk=note.pk).update(attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=1))
    deliveries(workspace, [conversation], event="done", action="close")
    engine.pump(workspace.pk)
    assert intercom_sim.ledger == []
    pump_until_settled(workspace)
    assert [e.kind for e in intercom_sim.writes_for(conversation)] == ["note", "close"]


def test_every_conversation_gets_its_notes_in_event_order_in_one_pump(intercom_sim, workspace):
    conversations = intercom_sim.add_conversations(40)
    statuses = ["In Progress", "In Review", "Done"]
    for status in statuses:
        deliveries(workspace, conversations, event=status, body=f"<p>SUP-1 moved to {status}</p>")
    assert engine.pump(workspace.pk) == {"sent": 120}
    for conversation in conversations:
        assert note_bodies(intercom_sim, conversation) == [f"SUP-1 moved to {s}" for s in statuses]


def test_coalescing_never_moves_a_note_ahead_of_one_planned_between(intercom_sim, workspace):
    (conversation,) = intercom_sim.add_conversations(1)
    key = f"r1:i1:note:{conversation}"
    deliveries(workspace, [conversation], event="a1", body="<p>In Progress</p>", coalesce_key=key, issue_key="SUP-1")
    deliveries(workspace, [conversation], event="b", body="<p>A comment</p>")
    deliveries(workspace, [conversation], event="a2", body="<p>Done</p>", coalesce_key=key, issue_key="SUP-1")
    engine.pump(workspace.pk)
    assert note_bodies(intercom_sim, conversation) == ["In Progress", "A comment", "Done"]


def test_the_limiter_hears_response_headers_when_they_can_say_something_new():
    observed, now = [], [100.0]

    class Limiter:
        def observe(self, key, headers):
            observed.append(headers["X-RateLimit-Reset"])

    sampler = engine.HeadersSampler(Limiter(), "7", clock=lambda: now[0])

    def response(reset, remaining, at):
        now[0] = at
        sampler({"X-RateLimit-Limit": "1666", "X-RateLimit-Reset": str(reset), "X-RateLimit-Remaining": str(remaining)})

    response(1010, 1600, at=100.0)  # the first
    response(1010, 1590, at=100.1)  # same limit and window: nothing new yet
    response(1010, 1580, at=100.2)
    response(1020, 1660, at=100.3)  # a new window
    response(1020, 1500, at=100.3 + engine.OBSERVE_SECONDS)  # what is left, after a while (other apps' calls)
    assert observed == ["1010", "1020", "1020"]
