"""The Intercom simulator is honest: the real SDK works against it, and it refuses what Intercom refuses."""

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from intercom import (
    AdminReplyConversationRequest,
    CreateOrUpdateTagRequest,
    Intercom,
    SingleFilterSearchRequest,
    StartingAfterPaging,
)
from intercom.conversations import (
    ConversationsManageRequestBody_Assignment,
    ConversationsManageRequestBody_Close,
    ConversationsManageRequestBody_Open,
    ConversationsManageRequestBody_Snoozed,
)
from intercom.core.api_error import ApiError

from sandbox.intercom import IntercomSimulator, send_intercom_webhook
from sandbox.server import SimControl

REPO = Path(__file__).resolve().parents[2]


def sdk(sim, token=None, timeout=10):
    return Intercom(token=token or sim.default_token, base_url=sim.url, headers={"Intercom-Version": "2.14"},
                    timeout=timeout)


def raw(sim, method, path, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token or sim.default_token}", "Intercom-Version": "2.14",
               **kwargs.pop("headers", {})}
    kwargs.setdefault("timeout", 10)
    return httpx.request(method, sim.url + path, headers=headers, **kwargs)


def note(sim, conversation_id, body="<p>ABC-1 moved to <b>Done</b></p>"):
    return raw(sim, "POST", f"/conversations/{conversation_id}/reply",
               json={"message_type": "note", "type": "admin", "admin_id": sim.app_admin["id"], "body": body})


def test_the_sdk_identifies_replies_manages_and_tags_without_contract_violations(intercom):
    assert intercom.validation_enabled
    client = sdk(intercom)
    conversation = intercom.add_conversation(subject="Printer", tags=["vip"])
    admin_id = intercom.app_admin["id"]

    me = client.admins.identify()
    assert me.id == admin_id and me.app.id_code == intercom.app["id_code"]
    replied = client.conversations.reply(conversation["id"], request=AdminReplyConversationRequest(
        message_type="note", admin_id=admin_id, body="<p>SUP-1 is Done</p>"))
    assert replied.conversation_parts.conversation_parts[-1].part_type == "note"
    assert client.conversations.manage(conversation["id"], request=ConversationsManageRequestBody_Close(
        admin_id=admin_id)).state == "closed"
    assert client.conversations.manage(conversation["id"], request=ConversationsManageRequestBody_Snoozed(
        admin_id=admin_id, snoozed_until=int(time.time()) + 3600)).state == "snoozed"
    assert client.conversations.manage(conversation["id"], request=ConversationsManageRequestBody_Open(
        admin_id=admin_id)).state == "open"
    assigned = client.conversations.manage(conversation["id"], request=ConversationsManageRequestBody_Assignment(
        type="admin", admin_id=admin_id, assignee_id=admin_id))
    assert str(assigned.admin_assignee_id) == admin_id
    tag = client.tags.create(request=CreateOrUpdateTagRequest(name="jira:SUP-1"))
    client.tags.tag_conversation(conversation["id"], tag_id=tag.id, admin_id=admin_id)
    client.tags.untag_conversation(conversation["id"], tag.id, admin_id=admin_id)
    assert [a.id for a in client.admins.list().admins] == [admin_id]
    found = list(client.conversations.search(
        query=SingleFilterSearchRequest(field="id", operator="=", value=conversation["id"]),
        pagination=StartingAfterPaging(per_page=5)))
    assert [c.id for c in found] == [conversation["id"]]
    assert client.conversations.find(conversation["id"]).state == "open"

    assert intercom.violations == []
    kinds = [e.kind for e in intercom.writes_for(conversation["id"])]
    assert kinds == ["note", "close", "snoozed", "open", "assignment", "tag", "untag"]


def test_a_reply_without_type_is_refused_with_400_and_recorded_as_a_violation(intercom):
    conversation = intercom.add_conversation()
    response = raw(intercom, "POST", f"/conversations/{conversation['id']}/reply",
                   json={"message_type": "note", "admin_id": intercom.app_admin["id"], "body": "x"})
    assert response.status_code == 400
    assert "type" in response.json()["errors"][0]["message"]
    assert len(intercom.violations) == 1
    assert intercom.violations[0]["operation"] == "/conversations/{conversation_id}/reply"
    assert intercom.ledger == []


def test_a_benchmark_simulator_checks_the_first_call_of_each_operation_and_every_nth_after():
    with IntercomSimulator(validate_every=3) as sim:
        conversation = sim.add_conversation()
        bad = {"message_type": "note", "admin_id": sim.app_admin["id"], "body": "x"}  # no "type"
        statuses = [raw(sim, "POST", f"/conversations/{conversation['id']}/reply", json=bad).status_code
                    for _ in range(4)]
        assert statuses == [400, 200, 200, 400]
        assert len(sim.violations) == 2


def test_an_unknown_intercom_version_is_a_contract_violation(intercom):
    response = raw(intercom, "GET", "/me", headers={"Intercom-Version": "9.9"})
    assert response.status_code == 400 and "9.9" in response.text


def test_a_note_by_an_unknown_admin_is_refused(intercom):
    conversation = intercom.add_conversation()
    response = raw(intercom, "POST", f"/conversations/{conversation['id']}/reply",
                   json={"message_type": "note", "type": "admin", "admin_id": "999999", "body": "x"})
    assert response.status_code == 400
    assert intercom.ledger == []


def test_an_unknown_conversation_is_404_with_intercoms_error_body(intercom):
    response = raw(intercom, "GET", "/conversations/424242")
    assert response.status_code == 404
    body = response.json()
    assert body["type"] == "error.list" and body["errors"][0]["code"] == "not_found"


def test_a_wrong_or_revoked_token_is_401_and_restoring_it_works_again(intercom):
    bad = raw(intercom, "GET", "/me", token="nope")
    assert bad.status_code == 401
    assert bad.json()["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]
    intercom.revoke_token()
    assert raw(intercom, "GET", "/me").status_code == 401
    intercom.restore_token()
    assert raw(intercom, "GET", "/me").status_code == 200


def test_every_authenticated_response_carries_rate_limit_headers_and_the_limit_gives_429():
    with IntercomSimulator(rate_limit=3) as sim:
        if time.time() % 10 > 8:  # keep the four calls inside one aligned window
            time.sleep(10 - time.time() % 10 + 0.05)
        responses = [raw(sim, "GET", "/me") for _ in range(4)]
    window_end = int(responses[0].headers["X-RateLimit-Reset"])
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in responses)
    assert window_end % 10 == 0 and 0 < window_end - time.time() <= 10
    assert responses[-1].json()["errors"][0] == {"code": "rate_limit_exceeded",
                                                 "message": "Exceeded rate limit of 3 in 10_seconds"}
    assert sim.max_calls_per_window() == 4


def test_throttling_gives_429_for_the_given_seconds_whatever_the_budget(intercom):
    intercom.throttle_for(0.5)
    assert raw(intercom, "GET", "/me").status_code == 429
    time.sleep(0.6)
    assert raw(intercom, "GET", "/me").status_code == 200


def test_forbidden_next_failures_and_random_errors_are_injected(intercom):
    intercom.faults.forbidden = True
    assert raw(intercom, "GET", "/me").status_code == 403
    intercom.faults.forbidden = False
    intercom.faults.update({"fail_next": 2, "fail_status": 502})
    assert [raw(intercom, "GET", "/me").status_code for _ in range(3)] == [502, 502, 200]
    intercom.faults.update({"error_rate": 1.0, "error_status": 503})
    assert raw(intercom, "GET", "/me").status_code == 503


def test_latency_is_applied_concurrently_not_one_request_after_another():
    # The gap between concurrent (1 s) and serial (20 s) is wide, so a busy machine cannot blur it.
    with IntercomSimulator(latency=1.0) as sim:
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(raw(sim, "GET", "/me").status_code))
                   for _ in range(20)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert statuses == [200] * 20
    assert 1.0 <= elapsed < 8


def test_a_hang_after_the_write_applies_it_although_the_client_times_out(intercom):
    conversation = intercom.add_conversation()
    intercom.faults.update({"hang_after_next": 1, "hang_seconds": 5})
    with pytest.raises(httpx.TimeoutException):
        raw(intercom, "POST", f"/conversations/{conversation['id']}/reply", timeout=0.5,
            json={"message_type": "note", "type": "admin", "admin_id": intercom.app_admin["id"], "body": "x"})
    assert [e.kind for e in intercom.writes_for(conversation["id"])] == ["note"]


def test_a_hang_before_the_write_does_not_apply_it(intercom):
    conversation = intercom.add_conversation()
    intercom.faults.update({"hang_before_next": 1, "hang_seconds": 5})
    with pytest.raises(httpx.TimeoutException):
        raw(intercom, "POST", f"/conversations/{conversation['id']}/reply", timeout=0.5,
            json={"message_type": "note", "type": "admin", "admin_id": intercom.app_admin["id"], "body": "x"})
    assert intercom.writes_for(conversation["id"]) == []
    assert note(intercom, conversation["id"]).status_code == 200  # the fault was one-shot


def test_a_gateway_error_after_the_write_applies_it_all_the_same(intercom):
    conversation = intercom.add_conversation()
    intercom.faults.update({"fail_after_next": 1, "write_error_status": 504})
    assert note(intercom, conversation["id"]).status_code == 504
    assert [e.kind for e in intercom.writes_for(conversation["id"])] == ["note"]
    assert raw(intercom, "GET", f"/conversations/{conversation['id']}").status_code == 200  # reads are spared
    assert note(intercom, conversation["id"]).status_code == 200  # the fault was one-shot


def test_a_rate_of_gateway_errors_after_writes_applies_every_write(intercom):
    conversation = intercom.add_conversation()
    intercom.faults.update({"write_error_rate": 1.0, "write_error_status": 502})
    assert [note(intercom, conversation["id"]).status_code for _ in range(2)] == [502, 502]
    assert len(intercom.writes_for(conversation["id"])) == 2


def test_a_drop_after_the_write_applies_it_and_closes_the_connection(intercom):
    conversation = intercom.add_conversation()
    intercom.faults.update({"drop_after_next": 1})
    with pytest.raises(httpx.RemoteProtocolError):
        note(intercom, conversation["id"])
    assert [e.kind for e in intercom.writes_for(conversation["id"])] == ["note"]


def test_the_ledger_counts_duplicate_notes_per_conversation(intercom):
    first, second = intercom.add_conversations(2)
    for conversation_id in (first, first, second):
        assert note(intercom, conversation_id).status_code == 200
    assert intercom.counts_by_conversation() == {first: 2, second: 1}
    assert [(d["conversation_id"], d["count"]) for d in intercom.duplicates()] == [(first, 2)]


def test_the_control_plane_seeds_sets_faults_and_reads_the_ledger(intercom):
    control = SimControl(intercom.url)
    ids = control.post("conversations/bulk", {"count": 3, "subject": "Bulk"})["ids"]
    assert note(intercom, ids[0]).status_code == 200
    control.post("faults", {"fail_next": 1, "fail_status": 500})
    assert note(intercom, ids[1]).status_code == 500
    ledger = control.get("ledger")
    assert ledger["counts"] == {ids[0]: 1}
    assert control.get("stats")["statuses"] == {"200": 1, "500": 1}
    control.post("reset")
    assert control.get("ledger")["entries"] == []


def test_a_signed_webhook_verifies_with_hmac_sha1_over_the_raw_body(intercom, receiver):
    conversation = intercom.add_conversation()
    payload = intercom.webhook_payload("conversation.admin.closed", conversation["id"])
    status, _ = send_intercom_webhook(receiver.url, payload, "client-secret")
    assert status == 204
    received = receiver.requests[0]
    expected = "sha1=" + hmac.new(b"client-secret", received["raw"], hashlib.sha1).hexdigest()
    assert hmac.compare_digest(received["headers"]["X-Hub-Signature"], expected)
    sample = json.loads((REPO.parent / "shared/contracts/intercom-webhooks/conversation_admin_open_assigned.json")
                        .read_text())
    body = json.loads(received["raw"])
    assert set(sample) <= set(body)
    assert set(body["data"]["item"]) >= {"id", "state", "source", "contacts", "admin_assignee_id", "tags",
                                         "conversation_parts", "custom_attributes"}


def test_it_runs_as_a_process_and_prints_its_url_first():
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "intercom", "--rate-limit", "50"],
                               cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert SimControl(url).get("state")["rate_limit"] == 50
        response = httpx.get(url + "/me", headers={"Authorization": "Bearer sandbox-token"}, timeout=10)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(10)


def test_sdk_errors_surface_as_api_errors(intercom):
    with pytest.raises(ApiError) as raised:
        sdk(intercom, token="bad").admins.identify()
    assert raised.value.status_code == 401


def test_contacts_companies_and_data_attributes_are_served_by_model(intercom):
    contact = intercom.add_contact(name="Grace")
    company = intercom.add_company("Initech")
    assert raw(intercom, "GET", f"/contacts/{contact['id']}").json()["name"] == "Grace"
    assert raw(intercom, "GET", f"/companies/{company['id']}").json()["name"] == "Initech"
    names = {a["name"] for a in raw(intercom, "GET", "/data_attributes?model=conversation").json()["data"]}
    assert "jira_issue" in names and "plan" not in names
    assert raw(intercom, "GET", "/data_attributes?model=ticket").status_code == 400  # not in the spec's enum
    assert len(intercom.violations) == 1
