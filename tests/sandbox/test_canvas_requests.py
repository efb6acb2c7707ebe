"""The Intercom simulator sends an Inbox app the Canvas Kit requests Intercom sends, signed, and those requests
follow the 2.11 schemas."""

import pytest
import requests

from sandbox import canvas
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_requests_follow_the_2_11_schemas(intercom):
    conversation = intercom.add_conversation(subject="Checkout fails")
    teammate = intercom.add_admin("Tess Teammate", "tess@example.com")
    builder = canvas.CanvasRequests(intercom, conversation_id=conversation["id"], admin=teammate, team_ids=[7])
    shown = {"content": {"components": [{"type": "button", "id": "go", "label": "Go", "action": {"type": "submit"}}]},
             "stored_data": {"step": 1}}

    assert canvas.schema_errors("initialize_request", builder.initialize()) == []
    assert canvas.schema_errors("submit_request", builder.submit("go", shown, {"query": "x"})) == []
    assert builder.initialize()["admin"]["team_ids"] == [7]


def test_the_control_plane_sends_signed_requests_to_the_app(intercom, live_server):
    workspace = factories.IntercomWorkspaceFactory(workspace_id=intercom.app["id_code"], client_secret="s3cret")
    conversation = intercom.add_conversation()
    teammate = intercom.add_admin("Tess Teammate", "tess@example.com")
    url = f"{live_server.url}/inbox/{workspace.public_id}/initialize"
    body = {"url": url, "conversation_id": conversation["id"], "admin_id": teammate["id"]}

    good = requests.post(f"{intercom.url}/_sim/canvas/initialize", json={**body, "secret": "s3cret"}, timeout=10)
    forged = requests.post(f"{intercom.url}/_sim/canvas/initialize", json={**body, "secret": "wrong"}, timeout=10)

    assert good.json()["status"] == 200
    assert canvas.schema_errors("initialize_response", good.json()["answer"]) == []
    assert forged.json()["status"] == 401
