"""The Jira client against the simulator: Cloud and Data Center, error classes, no secrets in logs."""

import logging

import pytest

from connector.errors import VendorError
from connector.jira_client import JiraClient
from sandbox.jira import APP_USER_TOKEN, JiraSimulator


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request):
    with JiraSimulator(deployment=request.param) as sim:
        yield sim


def client_for(sim, token=APP_USER_TOKEN):
    return JiraClient(base_url=sim.url, deployment=sim.deployment, email=sim.app_user["emailAddress"], token=token)


def test_it_identifies_the_app_user_on_cloud_and_data_center(jira):
    me = client_for(jira).myself()
    assert me["displayName"] == "Intercom Connector"
    assert me["accountId"] == (jira.app_user["accountId"] if jira.cloud else jira.app_user["key"])


def test_a_wrong_token_is_an_auth_error(jira):
    with pytest.raises(VendorError) as caught:
        client_for(jira, token="wrong").myself()
    assert caught.value.kind == "auth" and caught.value.status == 401


def test_an_unreachable_host_is_transient():
    client = JiraClient(base_url="http://127.0.0.1:9", deployment="cloud", email="a@b.c", token="t", timeout=2)
    with pytest.raises(VendorError) as caught:
        client.myself()
    assert caught.value.kind == "transient"


def test_it_refuses_to_call_a_private_host_when_private_urls_are_not_allowed(jira, settings):
    settings.ALLOW_PRIVATE_URLS = False
    with pytest.raises(VendorError) as caught:
        client_for(jira).myself()
    assert caught.value.kind == "permanent"
    assert jira.stats()["statuses"] == {}  # nothing reached the simulator


def test_it_lists_projects_and_reads_permissions(jira):
    jira.add_project("OPS", "Operations")
    jira.set_permissions(jira.app_user["accountId"], "OPS", {"BROWSE_PROJECTS"})
    client = client_for(jira)
    assert sorted(p["key"] for p in client.projects()) == ["OPS", "SUP"]
    assert client.my_permissions("OPS", ["BROWSE_PROJECTS", "ADD_COMMENTS"]) == {
        "BROWSE_PROJECTS": True,
        "ADD_COMMENTS": False,
    }


def test_search_pages_through_all_matches(jira):
    for n in range(5):
        jira.create_issue("SUP", f"issue {n}")
    client = client_for(jira)
    seen, token = [], None
    while True:
        issues, token = client.search("project = SUP", fields=["summary"], page_token=token, max_results=2)
        seen += [i["key"] for i in issues]
        if token is None:
            break
    assert sorted(seen) == [f"SUP-{n}" for n in range(1, 6)]


def test_properties_remote_links_comments_and_fields_round_trip(jira):
    issue = jira.create_issue("SUP", "linked")
    client = client_for(jira)
    assert client.get_property(issue["id"], "intercom") is None
    client.set_property(issue["id"], "intercom", {"ids": ["1"]})
    assert client.get_property(issue["id"], "intercom") == {"ids": ["1"]}
    client.delete_property(issue["id"], "intercom")
    assert client.get_property(issue["id"], "intercom") is None
    client.upsert_remote_link(issue["id"], global_id="intercom:1", url="https://app.intercom.com/x", title="Chat")
    client.upsert_remote_link(issue["id"], global_id="intercom:1", url="https://app.intercom.com/x", title="Chat 2")
    assert [link["object"]["title"] for link in jira.issue(issue["id"])["remotelinks"]] == ["Chat 2"]
    client.delete_remote_link(issue["id"], global_id="intercom:1")
    assert jira.issue(issue["id"])["remotelinks"] == []
    client.add_comment(issue["id"], "From Intercom")
    client.set_field(issue["id"], "customfield_10050", 1)
    fetched = client.issue(issue["id"])
    assert fetched["fields"]["customfield_10050"] == 1
    assert len(fetched["fields"]["comment"]["comments"]) == 1
    assert client.can_browse(jira.app_user["accountId"], [issue["id"]]) == {issue["id"]}


def test_tokens_and_webhook_secrets_never_reach_the_logs(jira, caplog):
    caplog.set_level(logging.DEBUG)
    client = client_for(jira)
    client.myself()
    client.register_webhook(url="https://example.com/hook", events=["jira:issue_created"], secret="hook-secret-xyz")
    assert jira.webhooks[-1]["secret"] == "hook-secret-xyz"
    assert APP_USER_TOKEN not in caplog.text
    assert "hook-secret-xyz" not in caplog.text
