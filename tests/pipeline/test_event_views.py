"""The events page: who may see it, what it shows, filters, the raw payload, reprocess."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connector.models import WebhookEvent
from tests.factories import JiraSiteFactory, UserFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db
Status = WebhookEvent.Status


@pytest.fixture
def agent_client():
    """view_operations without resend: the built-in Agent role (its own client, beside admin_client)."""
    client = Client()
    client.force_login(UserFactory(role="Agent"))
    return client


@pytest.fixture
def site():
    return JiraSiteFactory(name="Acme Jira")


def test_a_user_without_view_operations_gets_the_refusal_page(client):
    client.force_login(UserFactory(role="Viewer"))
    response = client.get(reverse("events"))
    assert response.status_code == 403
    assert "View webhook events and deliveries" in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("events"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_list_shows_each_delivery_with_its_outcome_in_words(agent_client, site):
    WebhookEventFactory(site=site, issue_key="PROJ-7", status=Status.FAILED, attempts=5, error="TimeoutError: Intercom")
    WebhookEventFactory(
        site=site, issue_key="PROJ-8", status=Status.IGNORED, error="Written by the connector's own Jira user."
    )
    page = agent_client.get(reverse("events")).content.decode()
    assert "PROJ-7" in page and "PROJ-8" in page and "Acme Jira" in page
    assert "Gave up after 5 attempt(s): TimeoutError: Intercom" in page
    assert "Written by the connector&#x27;s own Jira user." in page
    assert 'class="status failed"' in page


def test_the_navigation_links_the_events_page(agent_client):
    page = agent_client.get(reverse("home")).content.decode()
    assert f'href="{reverse("events")}"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, {"PROJ-1"}),
        ({"source": "intercom"}, {"conv"}),
        ({"type": "jira:issue_created"}, {"PROJ-2"}),
        ({"issue": "proj-2"}, {"PROJ-2"}),
        ({"status": "processed", "source": "jira"}, {"PROJ-2"}),
    ],
)
def test_filters_narrow_the_list(agent_client, site, query, expected):
    WebhookEventFactory(site=site, issue_key="PROJ-1", status=Status.FAILED)
    WebhookEventFactory(site=site, issue_key="PROJ-2", event_type="jira:issue_created", status=Status.PROCESSED)
    WebhookEventFactory(intercom=True, issue_key="conv", status=Status.IGNORED)
    rows = agent_client.get(reverse("events"), query).context["rows"]
    assert {event.issue_key for event, _ in rows} == expected


def test_the_date_range_keeps_only_events_received_within_it(agent_client, site):
    old = WebhookEventFactory(site=site, issue_key="OLD-1", status=Status.PROCESSED)
    WebhookEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=10))
    WebhookEventFactory(site=site, issue_key="NEW-1", status=Status.PROCESSED)
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    rows = agent_client.get(reverse("events"), {"received_from": since}).context["rows"]
    assert [event.issue_key for event, _ in rows] == ["NEW-1"]
    until = (timezone.now() - timedelta(days=5)).date().isoformat()
    rows = agent_client.get(reverse("events"), {"received_to": until}).context["rows"]
    assert [event.issue_key for event, _ in rows] == ["OLD-1"]


def test_an_invalid_filter_is_reported_and_not_applied(agent_client, site):
    WebhookEventFactory(site=site, issue_key="PROJ-1", status=Status.PROCESSED)
    response = agent_client.get(reverse("events"), {"received_from": "yesterday-ish", "status": "exploded"})
    assert "not understood" in response.content.decode()
    assert len(response.context["rows"]) == 1


def test_the_list_is_paginated_newest_first_and_pages_keep_the_filters(agent_client, site):
    for n in range(55):
        WebhookEventFactory(site=site, issue_key=f"P-{n}", status=Status.FAILED)
    first = agent_client.get(reverse("events"), {"status": "failed"})
    assert len(first.context["rows"]) == 50
    assert first.context["rows"][0][0].issue_key == "P-54"
    assert "status=failed&amp;page=2" in first.content.decode()
    second = agent_client.get(reverse("events"), {"status": "failed", "page": 2})
    assert [event.issue_key for event, _ in second.context["rows"]] == [f"P-{n}" for n in range(4, -1, -1)]


def test_the_detail_shows_the_payload_pretty_printed_and_escaped(agent_client, site):
    event = WebhookEventFactory(
        site=site,
        payload={"webhookEvent": "jira:issue_updated", "summary": "<script>alert(1)</script>"},
        delivery_id="abc-123",
        retry_header=3,
        status=Status.PROCESSED,
    )
    page = agent_client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '  &quot;summary&quot;: ' in page  # indented, one key per line
    assert "abc-123" in page and "X-Atlassian-Webhook-Retry" in page


def test_an_unknown_event_is_404(agent_client):
    assert agent_client.get(reverse("event_detail", args=[987654])).status_code == 404


def test_reprocess_puts_a_failed_event_back_in_the_queue(admin_client, site, django_capture_on_commit_callbacks,
                                                         monkeypatch):
    enqueued = []
    monkeypatch.setattr("pipeline.events.event_enqueue", enqueued.append)
    event = WebhookEventFactory(site=site, status=Status.FAILED, attempts=5, error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("event_detail", args=[event.pk]))
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.attempts, event.error) == (Status.RECEIVED, 0, "")
    assert enqueued == [event.pk]


def test_reprocess_leaves_a_processed_event_alone_and_says_why(admin_client, site):
    event = WebhookEventFactory(site=site, status=Status.PROCESSED, attempts=1)
    response = admin_client.post(reverse("event_detail", args=[event.pk]), follow=True)
    assert "Only failed, anomalous or ignored events can be reprocessed" in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.attempts) == (Status.PROCESSED, 1)


def test_the_reprocess_button_is_shown_only_to_users_who_may_resend(agent_client, admin_client, site):
    event = WebhookEventFactory(site=site, status=Status.ANOMALOUS, error="No issue in the payload.")
    url = reverse("event_detail", args=[event.pk])
    assert ">Reprocess</button>" in admin_client.get(url).content.decode()
    assert ">Reprocess</button>" not in agent_client.get(url).content.decode()


def test_a_user_without_resend_cannot_reprocess(agent_client, site):
    event = WebhookEventFactory(site=site, status=Status.FAILED)
    assert agent_client.post(reverse("event_detail", args=[event.pk])).status_code == 403
    assert agent_client.post(reverse("events")).status_code == 403
    event.refresh_from_db()
    assert event.status == Status.FAILED


def test_reprocess_needs_a_csrf_token(admin_user, site):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    event = WebhookEventFactory(site=site, status=Status.FAILED)
    assert client.post(reverse("event_detail", args=[event.pk])).status_code == 403
    event.refresh_from_db()
    assert event.status == Status.FAILED


def test_bulk_reprocess_takes_only_the_failed_events_in_the_current_filter(admin_client, site, monkeypatch):
    monkeypatch.setattr("pipeline.events.event_enqueue", lambda event_id: None)
    match = WebhookEventFactory(site=site, status=Status.FAILED, event_type="jira:issue_created")
    other_type = WebhookEventFactory(site=site, status=Status.FAILED, event_type="comment_created")
    anomalous = WebhookEventFactory(site=site, status=Status.ANOMALOUS, event_type="jira:issue_created")
    response = admin_client.post(reverse("events") + "?type=jira:issue_created", follow=True)
    assert "Queued 1 failed event(s)" in response.content.decode()
    statuses = dict(WebhookEvent.objects.values_list("pk", "status"))
    assert statuses == {match.pk: Status.RECEIVED, other_type.pk: Status.FAILED, anomalous.pk: Status.ANOMALOUS}


def test_the_bulk_button_counts_the_failed_events_of_the_filter(admin_client, agent_client, site):
    WebhookEventFactory(site=site, status=Status.FAILED)
    WebhookEventFactory(site=site, status=Status.FAILED)
    WebhookEventFactory(site=site, status=Status.PROCESSED)
    assert "2 failed events match these filters" in admin_client.get(reverse("events")).content.decode()
    assert "Reprocess the failed events" not in agent_client.get(reverse("events")).content.decode()


def test_the_api_lists_events_for_users_with_view_operations(agent_client, site):
    WebhookEventFactory(site=site, issue_key="PROJ-1", status=Status.FAILED, error="boom", attempts=5)
    WebhookEventFactory(site=site, issue_key="PROJ-2", status=Status.PROCESSED)
    body = agent_client.get("/api/events/", {"status": "failed"}).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["issue_key"], row["site"], row["status"], row["attempts"]) == ("PROJ-1", "Acme Jira", "failed", 5)
    assert row["outcome"].startswith("Gave up after 5 attempt(s)")
    assert "payload" not in row


def test_the_api_refuses_users_without_view_operations(client):
    client.force_login(UserFactory(role="Viewer"))
    assert client.get("/api/events/").status_code == 403


def test_the_api_rejects_an_invalid_filter_with_400(agent_client):
    assert agent_client.get("/api/events/", {"status": "exploded"}).status_code == 400
