"""How the Intercom client classifies failures: an answer that can follow a write is ambiguous for writes
(the caller must look before resending), while a read can always simply be repeated."""

import pytest

from connector.errors import VendorError, VendorErrorKind
from connector.intercom_client import IntercomClient


def client(sim, timeout=10.0):
    return IntercomClient(token=sim.default_token, base_url=sim.url, timeout=timeout)


def note(sim, conversation_id, timeout=10.0):
    return client(sim, timeout).reply(conversation_id, admin_id=sim.app_admin["id"], body="<p>SUP-1 is done</p>")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_error_after_a_write_is_ambiguous(intercom_sim, status):
    (conversation,) = intercom_sim.add_conversations(1)
    intercom_sim.faults.update({"fail_after_next": 1, "write_error_status": status})
    with pytest.raises(VendorError) as caught:
        note(intercom_sim, conversation)
    assert (caught.value.kind, caught.value.status) == (VendorErrorKind.AMBIGUOUS, status)
    assert len(intercom_sim.writes_for(conversation, "note")) == 1  # it was written all the same


def test_a_connection_dropped_after_a_write_is_ambiguous(intercom_sim):
    (conversation,) = intercom_sim.add_conversations(1)
    intercom_sim.faults.update({"drop_after_next": 1})
    with pytest.raises(VendorError) as caught:
        note(intercom_sim, conversation)
    assert caught.value.kind == VendorErrorKind.AMBIGUOUS
    assert len(intercom_sim.writes_for(conversation, "note")) == 1


def test_a_plain_server_error_on_a_write_stays_transient(intercom_sim):
    (conversation,) = intercom_sim.add_conversations(1)
    intercom_sim.faults.update({"fail_next": 1, "fail_status": 500})
    with pytest.raises(VendorError) as caught:
        note(intercom_sim, conversation)
    assert caught.value.kind == VendorErrorKind.TRANSIENT


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_error_on_a_read_stays_transient(intercom_sim, status):
    (conversation,) = intercom_sim.add_conversations(1)
    intercom_sim.faults.update({"fail_next": 1, "fail_status": status})
    with pytest.raises(VendorError) as caught:
        client(intercom_sim).conversation(conversation)
    assert caught.value.kind == VendorErrorKind.TRANSIENT


def test_no_answer_to_a_read_stays_transient(intercom_sim):
    (conversation,) = intercom_sim.add_conversations(1)
    intercom_sim.faults.latency = 1.0
    with pytest.raises(VendorError) as caught:
        client(intercom_sim, timeout=0.3).conversation(conversation)
    assert caught.value.kind == VendorErrorKind.TRANSIENT
