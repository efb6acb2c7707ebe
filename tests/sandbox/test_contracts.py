"""Request validation against the stored OpenAPI specs: on when the specs are there, loudly off when not."""

import json

import pytest

from sandbox import contracts
from sandbox.intercom import IntercomSimulator


def test_validation_is_off_with_a_warning_when_the_contracts_folder_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTRACTS_DIR", str(tmp_path / "absent"))
    contracts.load_spec.cache_clear()
    try:
        with pytest.warns(UserWarning, match="validation is OFF"):
            sim = IntercomSimulator()
        assert sim.validation_enabled is False
    finally:
        contracts.load_spec.cache_clear()


def test_specs_are_loaded_once_per_process():
    assert contracts.load_spec("jira") is contracts.load_spec("jira")


def test_literal_paths_win_over_templated_ones():
    spec = contracts.load_spec("intercom")
    assert spec.find("post", "/conversations/search").template == "/conversations/search"
    assert spec.find("post", "/conversations/77/reply").params == {"conversation_id": "77"}


def test_v2_paths_map_to_their_v3_operation_and_vendor_only_paths_have_none():
    spec = contracts.load_spec("jira")
    operation = spec.find("put", "/rest/api/2/issue/SUP-1/properties/intercom")
    assert operation.template == "/rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}"
    assert operation.v2_alias
    assert spec.find("post", "/rest/webhooks/1.0/webhook") is None


def test_v2_comment_bodies_are_not_judged_by_the_v3_adf_schema_but_v3_ones_are():
    spec = contracts.load_spec("jira")
    wiki = json.dumps({"body": "plain wiki text"}).encode()
    v2 = spec.find("post", "/rest/api/2/issue/SUP-1/comment")
    v3 = spec.find("post", "/rest/api/3/issue/SUP-1/comment")
    assert spec.validate("post", "/rest/api/2/issue/SUP-1/comment", v2, {}, {}, wiki, "application/json") == []
    assert spec.validate("post", "/rest/api/3/issue/SUP-1/comment", v3, {}, {}, b"[1]", "application/json")


def test_a_problem_names_the_offending_field():
    spec = contracts.load_spec("intercom")
    operation = spec.find("post", "/conversations/1/tags")
    problems = spec.validate("post", "/conversations/1/tags", operation, {}, {"Intercom-Version": "2.14"},
                             json.dumps({"id": "7"}).encode(), "application/json")
    assert problems == ["InvalidRequestBody at $: 'admin_id' is a required property"]
