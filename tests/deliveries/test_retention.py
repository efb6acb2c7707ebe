"""Retention: rendered note bodies are purged after RETENTION_DAYS; status, attempts and errors stay."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries import services, tasks
from deliveries.models import Delivery
from tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db
Status = Delivery.Status
BODY = "<p>Grace Hopper: the refund is on its way.</p>"


def _aged(days: int, **fields) -> Delivery:
    delivery = DeliveryFactory(body=BODY, **fields)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(days=days))
    return delivery


def test_the_purge_empties_old_bodies_of_finished_deliveries_and_keeps_the_rest(settings):
    settings.RETENTION_DAYS = 30
    sent = _aged(31, status=Status.SENT, attempts=1)
    failed = _aged(31, status=Status.FAILED, attempts=8, last_error="Intercom said 500")
    recent = _aged(29, status=Status.SENT)
    pending = _aged(31, status=Status.PENDING)  # still to be sent: its body is needed
    held = _aged(31, status=Status.HELD)
    assert tasks.delivery_body_purge() == 2
    for delivery in (sent, failed, recent, pending, held):
        delivery.refresh_from_db()
    assert (sent.body, sent.status, sent.attempts, sent.purged_at is not None) == ("", Status.SENT, 1, True)
    assert (failed.body, failed.last_error) == ("", "Intercom said 500")
    assert recent.body == pending.body == held.body == BODY
    assert Delivery.objects.count() == 5


def test_the_purge_works_in_batches():
    for _ in range(5):
        _aged(31, status=Status.SENT)
    assert services.delivery_body_purge(batch=2) == 5
    assert not Delivery.objects.exclude(body="").exists()


def test_the_delivery_page_says_the_note_was_purged_and_it_cannot_be_resent(admin_client, settings):
    settings.RETENTION_DAYS = 7
    delivery = _aged(8, status=Status.FAILED)
    services.delivery_body_purge()
    page = admin_client.get(reverse("delivery_detail", args=[delivery.pk])).content.decode()
    assert "purged after 7 days" in page
    assert ">Resend</button>" not in page
    assert services.delivery_resend(ids=[delivery.pk]) == 0
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
