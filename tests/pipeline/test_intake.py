import json
import threading

import psycopg
import pytest
from django.db import connection
from django.test import Client, override_settings

from connector.models import WebhookEvent
from connector.signatures import sign
from pipeline.process import webhook_event_process
from tests.factories import IntercomWorkspaceFactory, JiraSiteFactory
from tests.webhooks import intercom_sample, jira_sample, post_intercom, post_jira

pytestmark = pytest.mark.django_db
TRANSITION = "webhook-issue-updated-started-working.json"


@pytest.fixture
def site():
    return JiraSiteFactory()


def test_a_signed_delivery_is_stored_and_accepted(client, site):
    response = post_jira(client, site, jira_sample(TRANSITION), identifier="delivery-1")
    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert (response["Content-Type"], response.json()) == ("application/json", {"status": "accepted", "id": event.pk})
    assert (event.delivery_id, event.event_type, event.status) == ("delivery-1", "jira:issue_updated", "received")
    assert event.issue_key == jira_sample(TRANSITION)["issue"]["key"]


def test_the_same_identifier_again_is_accepted_and_stores_nothing_new(client, site):
    post_jira(client, site, jira_sample(TRANSITION), identifier="same")
    response = post_jira(client, site, jira_sample(TRANSITION), identifier="same", HTTP_X_ATLASSIAN_WEBHOOK_RETRY="1")
    assert response.status_code == 202
    assert response.json() == {"status": "duplicate", "id": None}
    assert WebhookEvent.objects.count() == 1


def test_two_sites_may_use_the_same_identifier(client, site):
    post_jira(client, site, jira_sample(TRANSITION), identifier="same")
    post_jira(client, JiraSiteFactory(), jira_sample(TRANSITION), identifier="same")
    assert WebhookEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_four_concurrent_deliveries_of_one_identifier_make_one_row():
    site = JiraSiteFactory()
    barrier, statuses = threading.Barrier(4), []

    def deliver():
        barrier.wait()
        statuses.append(post_jira(Client(), site, jira_sample(TRANSITION), identifier="burst").status_code)
        connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [202] * 4
    assert WebhookEvent.objects.filter(delivery_id="burst").count() == 1


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, "sha1=" + "0" * 40, "garbage", "sha256="],
)
def test_missing_or_bad_signatures_are_refused(client, site, signature):
    response = post_jira(client, site, jira_sample(TRANSITION), HTTP_X_HUB_SIGNATURE=signature)
    assert response.status_code == 401
    assert "error" in response.json()
    assert not WebhookEvent.objects.exists()


def test_a_signature_made_with_another_secret_is_refused(client, site):
    response = post_jira(client, site, jira_sample(TRANSITION), secret="not-the-secret")
    assert response.status_code == 401


def test_data_center_without_signing_may_use_the_token_in_the_url(client, site):
    body = json.dumps(jira_sample(TRANSITION)).encode()
    url = f"/webhooks/jira/{site.public_id}?token={site.webhook_secret}"
    assert client.post(url, data=body, content_type="application/json").status_code == 202
    bad = f"/webhooks/jira/{site.public_id}?token=wrong"
    assert client.post(bad, data=body, content_type="application/json").status_code == 401


def test_a_delivery_without_identifier_is_deduplicated_by_its_body(client, site):
    for _ in range(2):
        post_jira(client, site, jira_sample(TRANSITION), HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER=None)
    assert WebhookEvent.objects.get().delivery_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object, not list"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"no": "event"}', "no webhookEvent"),
        (b'{"webhookEvent": "jira:issue_updated", "n": NaN}', "NaN is not a JSON value"),
    ],
)
def test_malformed_bodies_get_400_saying_what_is_wrong(client, site, body, message):
    response = post_jira(client, site, None, body=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_webhooks_take_the_fast_path_past_sessions_and_csrf_but_keep_security_headers(client, site):
    response = post_jira(client, site, jira_sample(TRANSITION))
    assert response.status_code == 202
    assert "X-Frame-Options" not in response  # the middleware below the fast path never ran
    assert response["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still applies
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert client.post("/webhooks/unknown", data=b"{}", content_type="application/json").status_code == 404


def test_the_body_is_stored_as_received(client, site):
    body = json.dumps(jira_sample(TRANSITION), indent=1).encode()
    post_jira(client, site, None, body=body)
    assert WebhookEvent.objects.get().payload == json.loads(body)


def test_text_that_postgresql_cannot_hold_is_stored_with_a_replacement_character(client, site):
    body = rb'{"webhookEvent": "jira:issue_updated", "comment": {"body": "a\u0000b \ud800 c"}}'
    assert post_jira(client, site, None, body=body).status_code == 202
    assert WebhookEvent.objects.get().payload["comment"]["body"] == "a\ufffdb \ufffd c"


@pytest.mark.django_db(transaction=True)
def test_a_body_postgresql_cannot_store_at_all_gets_400_not_a_retry_loop(client, site):
    body = b'{"webhookEvent": "jira:issue_updated", "n": 1e1000000}'
    response = post_jira(client, site, None, body=body)
    assert response.status_code == 400
    assert "cannot be stored" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_on_a_connection_the_database_dropped_is_still_stored(client):
    site = JiraSiteFactory()
    assert post_jira(client, site, jira_sample(TRANSITION)).status_code == 202  # the connection is kept now
    kept = connection.connection.info.backend_pid
    with psycopg.connect(_dsn(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [kept])  # as a database restart would
    response = post_jira(client, site, jira_sample(TRANSITION))
    assert response.status_code == 202
    assert WebhookEvent.objects.count() == 2
    assert connection.connection.info.backend_pid != kept


def _dsn() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@override_settings(WEBHOOK_MAX_BODY_BYTES=2048)
def test_a_body_over_the_limit_gets_413(client, site):
    payload = {"webhookEvent": "jira:issue_updated", "pad": "x" * 4096}
    response = post_jira(client, site, payload)
    assert response.status_code == 413
    assert "2048" in response.json()["error"]


def test_an_unknown_site_gets_404(client, site):
    site_id = site.public_id
    site.delete()
    assert post_jira(client, JiraSiteFactory.build(public_id=site_id), {"webhookEvent": "x"}).status_code == 404


def test_unknown_event_types_are_stored_and_end_as_ignored(client, site):
    post_jira(client, site, {"webhookEvent": "jira:board_teleported", "timestamp": 1})
    event = WebhookEvent.objects.get()
    assert webhook_event_process(event.pk) == "ignored"
    event.refresh_from_db()
    assert event.status == "ignored" and event.error


def test_a_transition_is_processed_once(client, site):
    post_jira(client, site, jira_sample(TRANSITION))
    event = WebhookEvent.objects.get()
    assert webhook_event_process(event.pk) == "processed"
    assert webhook_event_process(event.pk) is None  # a second run finds nothing to do
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)


@pytest.mark.parametrize(("actor_is_app_user", "notes"), [(True, 0), (False, 1)])
def test_events_caused_by_our_app_user_are_not_echoed_into_conversations(client, actor_is_app_user, notes):
    from deliveries.models import Delivery
    from tests.factories import ConversationLinkFactory, ProjectConnectionFactory

    sample = jira_sample(TRANSITION)
    project = ProjectConnectionFactory(project_id=sample["issue"]["fields"]["project"]["id"])
    if actor_is_app_user:
        project.site.app_account_id = sample["user"]["accountId"]
        project.site.save()
    ConversationLinkFactory(
        site=project.site,
        issue_id=sample["issue"]["id"],
        issue_key="X-1",
        workspace=project.workspace,
        conversation_id="5",
        source="api",
    )
    post_jira(client, project.site, sample)
    assert webhook_event_process(WebhookEvent.objects.get().pk) == "processed"
    assert Delivery.objects.count() == notes  # the default rule notes transitions, except our own


# --- Intercom ---------------------------------------------------------------------------------------------


def test_intercom_checks_the_url_with_head(client):
    workspace = IntercomWorkspaceFactory()
    assert client.head(f"/webhooks/intercom/{workspace.public_id}").status_code == 200


def test_head_on_an_unknown_intercom_workspace_url_is_404(client, db):
    assert client.head("/webhooks/intercom/8d4f2b8e-4f5a-4c7e-9a57-1c2f0b0f6e11").status_code == 404


def test_intercom_ping_is_answered_without_storing(client):
    workspace = IntercomWorkspaceFactory()
    response = post_intercom(client, workspace, intercom_sample("ping.json"))
    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        ("conversation_deleted.json", "received"),
        ("conversation_admin_closed.json", "received"),
        ("conversation_admin_opened.json", "received"),
        ("conversation_admin_snoozed.json", "received"),
        ("conversation_user_replied.json", "received"),
        ("conversation_admin_noted.json", "ignored"),
    ],
)
def test_intercom_topics_are_stored_for_processing_or_as_ignored(client, sample, status):
    workspace = IntercomWorkspaceFactory()
    assert post_intercom(client, workspace, intercom_sample(sample)).status_code == 202
    assert WebhookEvent.objects.get().status == status


def test_intercom_deliveries_with_a_bad_signature_are_refused(client):
    workspace = IntercomWorkspaceFactory()
    response = post_intercom(client, workspace, intercom_sample("conversation_deleted.json"), secret="wrong")
    assert response.status_code == 401


def test_intercom_notifications_are_deduplicated_by_their_id(client):
    workspace = IntercomWorkspaceFactory()
    for _ in range(3):
        post_intercom(client, workspace, intercom_sample("conversation_admin_closed.json"))
    assert WebhookEvent.objects.count() == 1


def test_a_rotated_secret_applies_at_once_although_sites_are_cached(client, site):
    assert post_jira(client, site, jira_sample(TRANSITION)).status_code == 202  # the site is cached now
    old_secret = site.webhook_secret
    site.webhook_secret = "a-brand-new-secret"
    site.save()
    assert post_jira(client, site, jira_sample(TRANSITION)).status_code == 202
    assert post_jira(client, site, jira_sample(TRANSITION), secret=old_secret).status_code == 401


# --- hostile input: always a 4xx that says what was wrong ----------------------------------------------------

DEEP = b"[" * 5000 + b"]" * 5000
NESTED = b'{"webhookEvent": "jira:issue_updated", "topic": "conversation.deleted", "a": %s}' % DEEP


def test_a_non_ascii_jira_signature_is_a_400_naming_the_header(client, site):
    response = post_jira(client, site, jira_sample(TRANSITION), HTTP_X_HUB_SIGNATURE="sha256=" + "é" * 64)
    assert response.status_code == 400
    assert "X-Hub-Signature" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_a_non_ascii_intercom_signature_is_a_400_naming_the_header(client):
    workspace = IntercomWorkspaceFactory()
    response = post_intercom(
        client, workspace, intercom_sample("conversation_deleted.json"), HTTP_X_HUB_SIGNATURE="sha1=" + "ü" * 40
    )
    assert response.status_code == 400
    assert "X-Hub-Signature" in response.json()["error"]


def test_deeply_nested_json_to_jira_is_a_400(client, site):
    response = post_jira(client, site, None, body=NESTED)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


def test_deeply_nested_json_to_intercom_is_a_400(client):
    workspace = IntercomWorkspaceFactory()
    body = NESTED
    headers = {"HTTP_X_HUB_SIGNATURE": sign(body, workspace.client_secret, algorithm="sha1")}
    response = client.post(
        f"/webhooks/intercom/{workspace.public_id}", data=body, content_type="application/json", **headers
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


def test_json_nested_beyond_what_the_connector_handles_is_refused_even_when_python_could_parse_it(client, site):
    body = b'{"webhookEvent": "jira:issue_updated", "a": ' + b"[" * 200 + b"]" * 200 + b"}"
    response = post_jira(client, site, None, body=body)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
