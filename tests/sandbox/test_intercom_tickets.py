"""The Intercom simulator's tickets follow the 2.14 contract: the connector's requests are validated by the
simulator itself, and its answers here against the 2.14 response schemas."""

from functools import cache
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from connector.errors import VendorError
from connector.intercom_client import IntercomClient
from sandbox.intercom import IntercomSimulator

SPEC = Path(settings.CONTRACTS_DIR) / "openapi" / "intercom-api-2.14.yaml"


@cache
def _spec() -> dict:
    return yaml.safe_load(SPEC.read_text())


def schema_errors(name: str, instance) -> list[str]:
    registry = Registry().with_resource("spec.yaml", Resource.from_contents(_spec(), default_specification=DRAFT4))
    validator = OAS30Validator({"$ref": f"spec.yaml#/components/schemas/{name}"}, registry=registry)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.fixture
def sim():
    with IntercomSimulator() as simulator:
        yield simulator


@pytest.fixture
def client(sim):
    client = IntercomClient(token=sim.default_token, base_url=sim.url)
    yield client
    client.shutdown()


def test_tickets_types_states_and_parts_match_the_2_14_schemas(sim, client):
    admin = sim.app_admin["id"]
    ticket = sim.add_ticket(title="Broken export")
    assert schema_errors("ticket", client.ticket(ticket["id"])) == []
    assert all(schema_errors("ticket_type", t) == [] for t in client.ticket_types())
    assert all(schema_errors("ticket_state", s) == [] for s in client.ticket_states())
    part = client.ticket_reply(ticket["id"], admin_id=admin, body="<p>On it</p>")
    assert schema_errors("ticket_reply", part) == []
    resolved = next(s for s in client.ticket_states() if s["category"] == "resolved")
    updated = client.ticket_update(ticket["id"], admin_id=admin, ticket_state_id=resolved["id"],
                                   ticket_attributes={"Jira key": "SUP-1"})
    assert schema_errors("ticket", updated) == []
    assert updated["ticket_state"]["category"] == "resolved" and updated["ticket_attributes"]["Jira key"] == "SUP-1"
    assert sim.violations == []


def test_a_tracker_is_created_for_a_contact_and_lists_what_is_linked_to_it(sim, client):
    tracker = client.ticket_create(ticket_type_id=sim.tracker_type["id"],
                                   attributes={"_default_title_": "[SUP-1] Known bug"},
                                   contact={"email": "trackers@example.com"})
    assert schema_errors("ticket", tracker) == []
    conversation = sim.add_conversation()
    sim.link_objects(tracker["id"], conversation["id"])
    linked = client.ticket(tracker["id"])["linked_objects"]
    assert schema_errors("linked_object_list", linked) == []
    assert linked["data"] == [{"type": "conversation", "id": conversation["id"], "category": None}]
    found = client.ticket_search({"operator": "AND", "value": [
        {"field": "ticket_type_id", "operator": "=", "value": sim.tracker_type["id"]},
        {"field": "title", "operator": "~", "value": "[SUP-1]"}]})
    assert [t["id"] for t in found] == [tracker["id"]]
    assert sim.violations == []


def test_the_simulator_refuses_what_intercom_refuses(sim, client):
    backoffice = sim.add_ticket(ticket_type_id=sim.backoffice_type["id"])
    with pytest.raises(VendorError, match="not found on the ticket type"):
        client.ticket_update(backoffice["id"], admin_id=sim.app_admin["id"], ticket_attributes={"Jira key": "X-1"})
    with pytest.raises(VendorError, match="not allowed on Backoffice"):
        client.ticket_reply(backoffice["id"], admin_id=sim.app_admin["id"], body="<p>hi</p>", message_type="comment")
    with pytest.raises(VendorError, match="contract"):  # the 2.14 contract requires a contact
        client.ticket_create(ticket_type_id=sim.tracker_type["id"], attributes={"_default_title_": "x"})
