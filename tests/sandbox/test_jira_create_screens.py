"""The Jira simulator's create screens answer as Jira does: createmeta per project and issue type, issue
creation refused with Jira's ErrorCollection, and a project the caller cannot browse hidden."""

import pytest

from connector.errors import VendorError
from connector.jira_client import JiraClient
from sandbox.jira import APP_USER_TOKEN
from sandbox.jira_create import SEVERITY_FIELD


def client(sim) -> JiraClient:
    return JiraClient(base_url=sim.url, deployment=sim.deployment, email=sim.app_user["emailAddress"],
                      token=APP_USER_TOKEN)


def test_createmeta_lists_issue_types_and_their_fields(jira):
    jira_client = client(jira)
    project = next(p for p in jira.projects.values() if p["key"] == "SUP")

    types = jira_client.create_meta_issue_types("SUP")
    bug = next(t for t in types if t["name"] == "Bug")
    fields = {f["fieldId"]: f for f in jira_client.create_meta_fields(project["id"], bug["id"])}

    assert {t["name"] for t in types} == {"Task", "Bug", "Story"}
    assert fields["summary"]["required"] and fields[SEVERITY_FIELD]["required"]
    severities = [v["value"] for v in fields[SEVERITY_FIELD]["allowedValues"]]
    assert severities == ["S1 - Outage", "S2 - Degraded", "S3 - Minor"]
    assert fields["priority"]["defaultValue"]["name"] == "Medium"
    assert not jira.violations


def test_data_center_answers_createmeta_as_values(jira_dc):
    assert {t["name"] for t in client(jira_dc).create_meta_issue_types("SUP")} == {"Task", "Bug", "Story"}


def test_create_is_refused_with_errors_per_field(jira):
    with pytest.raises(VendorError) as raised:
        client(jira).create_issue({"project": {"key": "SUP"}, "issuetype": {"id": "10002"}, "summary": "",
                                   "labels": ["two words"], "customfield_99999": "x"})

    refusal = raised.value
    assert refusal.status == 400
    assert refusal.field_errors == {
        "labels": "The label 'two words' contains spaces which is invalid.",
        "customfield_99999": "Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or "
                             "unknown.",
        "summary": "Summary is required.",
        SEVERITY_FIELD: "Severity is required.",
    }
    assert not jira.issues


def test_a_project_the_app_user_cannot_browse_is_hidden(jira):
    jira.set_permissions(jira.app_user["accountId"], "SUP", set())
    jira_client = client(jira)

    with pytest.raises(VendorError) as hidden:
        jira_client.create_meta_issue_types("SUP")
    with pytest.raises(VendorError) as refused:
        jira_client.create_issue({"project": {"key": "SUP"}, "issuetype": {"id": "10001"}, "summary": "x"})

    assert hidden.value.kind == "not_found"
    assert refused.value.field_errors == {"project": "valid project is required"}


def test_without_create_permission_no_issue_type_is_offered(jira):
    jira.set_permissions(jira.app_user["accountId"], "SUP", {"BROWSE_PROJECTS"})

    assert client(jira).create_meta_issue_types("SUP") == []
