"""Delivery services: resend resets what it may, asks for a check when a write may have landed."""

import pytest
from django.utils import timezone

from deliveries import engine
from deliveries import services as delivery_services
from deliveries.models import Delivery
from tests import factories
from tests.conftest import workspace_for

pytestmark = pytest.mark.django_db


# --- resend ----------------------------------------------------------------------------------------------


def test_resend_resets_failed_held_and_skipped_rows_and_enqueues_the_pump(
    enqueued, django_capture_on_commit_callbacks
):
    ws = factories.IntercomWorkspaceFactory()
    rows = [
        factories.DeliveryFactory(workspace=ws, idempotency_key=s, status=s, attempts=3, last_error="boom")
        for s in ("failed", "held", "skipped", "sent")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_services.delivery_resend(ids=[r.pk for r in rows]) == 3
    statuses = dict(Delivery.objects.values_list("idempotency_key", "status"))
    assert statuses == {"failed": "pending", "held": "pending", "skipped": "pending", "sent": "sent"}
    assert set(Delivery.objects.filter(status="pending").values_list("attempts", flat=True)) == {0}
    assert enqueued == [ws.pk]


def test_resend_asks_for_a_check_only_when_the_row_ever_reached_sending():
    ws = factories.IntercomWorkspaceFactory()
    tried = factories.DeliveryFactory(
        workspace=ws, idempotency_key="tried", status="failed", attempts=2, claimed_at=timezone.now()
    )
    never = factories.DeliveryFactory(workspace=ws, idempotency_key="never", status="skipped", attempts=0)
    delivery_services.delivery_resend(ids=[tried.pk, never.pk])
    tried.refresh_from_db()
    never.refresh_from_db()
    assert tried.verify and not never.verify


def test_a_resent_note_that_already_got_through_is_not_written_twice(intercom_sim, redis_client):
    ws = workspace_for(intercom_sim)
    (conversation,) = intercom_sim.add_conversations(1)
    d = factories.DeliveryFactory(
        workspace=ws, idempotency_key="ambiguous", conversation_id=conversation, body="<p>SUP-1 is done</p>"
    )
    engine.pump(ws.pk)
    # As after a timeout whose write did land: recorded as failed although Intercom has the note.
    Delivery.objects.filter(pk=d.pk).update(status="failed", last_error="timeout", part_id="")
    delivery_services.delivery_resend(ids=[d.pk])
    engine.pump(ws.pk)
    d.refresh_from_db()
    assert d.status == "sent"
    assert intercom_sim.counts_by_conversation("note") == {conversation: 1}
