"""The delivery log: filters, fan-out progress, the failed view, resend (one, chosen, all) and its permissions."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from deliveries.models import Delivery
from tests import factories

pytestmark = pytest.mark.django_db


def user_with(*codes):
    user = factories.UserFactory()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts", codename__in=codes))
    return user


@pytest.fixture
def workspace():
    return factories.IntercomWorkspaceFactory()


@pytest.fixture
def fanout(workspace):
    """One transition of SUP-1 fanned out by one rule into six conversations: 3 sent, 1 failed, 2 waiting."""
    rule = factories.NotificationRuleFactory(name="Status note", trigger="issue_transitioned",
                                             actions=[{"type": "note"}])
    event = factories.WebhookEventFactory(site=None, delivery_id="x", event_type="jira:issue_updated",
                                          issue_key="SUP-1", payload={})
    statuses = ["sent", "sent", "sent", "failed", "pending", "sending"]
    now = timezone.now()
    rows = Delivery.objects.bulk_create(
        factories.DeliveryFactory.build(
            idempotency_key=f"f:{n}", webhook_event=event, rule=rule, workspace=workspace,
            conversation_id=str(100 + n), issue_id="1", issue_key="SUP-1", action="note", status=status, body="",
            next_attempt_at=now, attempts=1 if status != "pending" else 0, sent_at=now if status == "sent" else None,
            last_error="Intercom said 404: conversation not found" if status == "failed" else "",
        )
        for n, status in enumerate(statuses)
    )
    return rule, event, rows


def test_the_log_shows_each_delivery_with_status_rule_conversation_and_error(admin_client, fanout):
    response = admin_client.get(reverse("deliveries"))
    page = response.content.decode()
    assert page.count('data-testid="delivery-row"') == 6
    assert "Status note" in page and "Intercom said 404: conversation not found" in page and "105" in page


def test_a_running_fan_out_shows_its_progress_and_the_page_refreshes(admin_client, fanout):
    response = admin_client.get(reverse("deliveries"))
    (progress,) = response.context["fanouts"]
    assert (progress.sent, progress.total, progress.failed, progress.open) == (3, 6, 1, 2)
    assert progress.running and progress.percent == 50  # failed is not done
    assert "3 / 6" in response.content.decode()
    assert '<meta http-equiv="refresh"' in response.content.decode()


def test_the_progress_numbers_follow_the_rows_on_reload(admin_client, fanout):
    Delivery.objects.filter(status__in=["pending", "sending"]).update(status="sent", sent_at=timezone.now())
    response = admin_client.get(reverse("deliveries"))
    (progress,) = response.context["fanouts"]
    assert (progress.sent, progress.total, progress.open) == (5, 6, 0) and not progress.running
    assert '<meta http-equiv="refresh"' not in response.content.decode()


def test_filters_narrow_the_log_to_failed_rows_of_one_issue(admin_client, fanout, workspace):
    factories.DeliveryFactory(workspace=workspace, idempotency_key="other", issue_key="OPS-2", status="failed")
    response = admin_client.get(reverse("deliveries"), {"status": "failed", "issue": "sup-1"})
    assert [d.conversation_id for d in response.context["page"]] == ["103"]
    by_source = admin_client.get(reverse("deliveries"), {"source": "test"})
    assert list(by_source.context["page"]) == []


def test_an_unknown_filter_value_is_reported_and_ignored(admin_client, fanout):
    response = admin_client.get(reverse("deliveries"), {"status": "exploded"})
    assert response.status_code == 200 and "not understood" in response.content.decode()
    assert response.context["page"].paginator.count == 6


def test_resending_one_failed_delivery_queues_it_again(admin_client, fanout, django_capture_on_commit_callbacks):
    _, _, rows = fanout
    failed = rows[3]
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(reverse("delivery_resend"), {"ids": [failed.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 0, "")
    assert failed.next_attempt_at <= timezone.now()
    assert len(callbacks) == 1  # the pump is enqueued after commit


def test_resending_all_failed_leaves_sent_rows_alone(admin_client, fanout, workspace):
    skipped = factories.DeliveryFactory(workspace=workspace, idempotency_key="s", status="skipped", issue_key="SUP-1")
    admin_client.post(reverse("delivery_resend") + "?issue=SUP-1", {"all": "1"})
    assert Delivery.objects.filter(status="sent").count() == 3
    skipped.refresh_from_db()
    assert skipped.status == "pending"
    assert Delivery.objects.filter(status="failed").count() == 0


def test_bulk_resend_only_touches_rows_matching_the_filters(admin_client, fanout, workspace):
    other = factories.DeliveryFactory(workspace=workspace, idempotency_key="o", status="failed", issue_key="OPS-9")
    admin_client.post(reverse("delivery_resend") + "?issue=SUP-1", {"all": "1"})
    other.refresh_from_db()
    assert other.status == "failed"


def test_a_delivery_page_shows_the_note_and_offers_resend_when_failed(admin_client, fanout):
    _, _, rows = fanout
    page = admin_client.get(reverse("delivery_detail", args=[rows[3].pk])).content.decode()
    assert "conversation not found" in page and ">Resend</button>" in page
    sent_page = admin_client.get(reverse("delivery_detail", args=[rows[0].pk])).content.decode()
    assert ">Resend</button>" not in sent_page


def test_the_log_is_refused_without_view_operations(client, fanout):
    client.force_login(user_with("view_links"))
    assert client.get(reverse("deliveries")).status_code == 403
    assert client.get("/api/deliveries/").status_code == 403


def test_resend_is_refused_without_the_resend_permission(client, fanout):
    _, _, rows = fanout
    client.force_login(user_with("view_operations"))
    page = client.get(reverse("deliveries")).content.decode()
    assert "Resend" not in page
    assert client.post(reverse("delivery_resend"), {"ids": [rows[3].pk]}).status_code == 403
    assert client.post(f"/api/deliveries/{rows[3].pk}/resend/").status_code == 403
    rows[3].refresh_from_db()
    assert rows[3].status == "failed"


def test_the_api_lists_filtered_deliveries_and_resends(admin_client, fanout):
    _, _, rows = fanout
    listed = admin_client.get("/api/deliveries/", {"status": "failed"}).json()
    assert [d["conversation_id"] for d in listed["results"]] == ["103"]
    assert listed["results"][0]["rule_name"] == "Status note"
    assert admin_client.post(f"/api/deliveries/{rows[3].pk}/resend/").json() == {"resent": 1}
    response = admin_client.post("/api/deliveries/resend/", {"ids": [rows[0].pk, rows[3].pk]},
                                 content_type="application/json")
    assert response.json() == {"resent": 0}  # one is sent, the other already pending again


def test_old_fan_outs_are_listed_after_newer_ones(admin_client, fanout, workspace):
    rule, _, _ = fanout
    older = factories.WebhookEventFactory(site=None, delivery_id="y", event_type="", issue_key="SUP-0", payload={})
    row = factories.DeliveryFactory(
        workspace=workspace, idempotency_key="old", webhook_event=older, rule=rule, issue_key="SUP-0", status="sent"
    )
    Delivery.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=1))
    fanouts = admin_client.get(reverse("deliveries")).context["fanouts"]
    assert [f.issue_key for f in fanouts] == ["SUP-1", "SUP-0"]
