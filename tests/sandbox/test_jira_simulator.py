"""The Jira simulator is honest: atlassian-python-api works against it, and its webhooks look like Jira's."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest
import requests
from atlassian import Jira

from sandbox.jira import APP_USER_TOKEN, COUNT_FIELD
from sandbox.server import SimControl

SAMPLES = Path(__file__).resolve().parents[3] / "shared/contracts/jira-webhooks/mattermost-plugin-jira"


def sample(name):
    return json.loads((SAMPLES / name).read_text())


def cloud_client(sim, user=None):
    user = user or sim.app_user
    return Jira(url=sim.url, username=user["emailAddress"], password=APP_USER_TOKEN, cloud=True)


def basic(user, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{user['emailAddress']}:{secret}".encode()).decode()}


def test_the_library_reads_issues_and_writes_remote_links_and_properties_without_violations(jira):
    client = cloud_client(jira)
    key = jira.create_issue("SUP", "Printer on fire", description="It burns")["key"]

    assert client.myself()["accountId"] == jira.app_user["accountId"]
    issue = client.issue(key)
    assert issue["fields"]["status"]["statusCategory"]["key"] == "new"
    url = "https://app.intercom.com/a/inbox/abc/inbox/conversation/1"
    first = client.create_or_update_issue_remote_links(key, url, "Conversation 1", global_id="intercom:1")
    again = client.create_or_update_issue_remote_links(key, url, "Conversation 1 (renamed)", global_id="intercom:1")
    assert first["id"] == again["id"]
    links = client.get_issue_remote_links(key)
    assert [link["object"]["title"] for link in links] == ["Conversation 1 (renamed)"]
    client.set_issue_property(key, "intercom", {"count": 1})
    assert client.get_issue_property(key, "intercom")["value"] == {"count": 1}
    client.update_issue_field(key, {COUNT_FIELD: 1})
    assert client.issue(key)["fields"][COUNT_FIELD] == 1

    assert jira.violations == []
    assert jira.unvalidated == {}


def test_the_v3_api_returns_adf_and_the_v2_api_returns_text(jira):
    key = jira.create_issue("SUP", "Printer", description="It burns")["key"]
    headers = basic(jira.app_user, APP_USER_TOKEN)
    v3 = httpx.get(f"{jira.url}/rest/api/3/issue/{key}", headers=headers).json()
    v2 = httpx.get(f"{jira.url}/rest/api/2/issue/{key}", headers=headers).json()
    assert v3["fields"]["description"]["type"] == "doc"
    assert v2["fields"]["description"] == "It burns"


def test_data_center_takes_a_personal_access_token_and_has_no_v3(jira_dc):
    client = Jira(url=jira_dc.url, token=APP_USER_TOKEN)
    key = jira_dc.create_issue("SUP", "Printer")["key"]
    assert client.myself()["name"] == jira_dc.app_user["name"]
    assert client.issue(key)["key"] == key
    assert client.jql("project = SUP")["total"] == 1
    assert httpx.get(f"{jira_dc.url}/rest/api/3/myself",
                     headers={"Authorization": f"Bearer {APP_USER_TOKEN}"}).status_code == 404
    assert jira_dc.violations == []


def test_wrong_credentials_are_401(jira):
    response = httpx.get(f"{jira.url}/rest/api/3/myself", headers=basic(jira.app_user, "wrong"))
    assert response.status_code == 401
    assert response.json()["errorMessages"]
    with pytest.raises(requests.HTTPError):
        Jira(url=jira.url, username="nobody@example.com", password="x", cloud=True).myself()


def test_a_malformed_request_is_refused_with_400_and_recorded(jira):
    response = httpx.get(f"{jira.url}/rest/api/3/search/jql", params={"jql": "project = SUP", "maxResults": "many"},
                         headers=basic(jira.app_user, APP_USER_TOKEN))
    assert response.status_code == 400
    assert jira.violations[0]["operation"] == "/rest/api/3/search/jql"


def test_the_bulk_permission_check_says_which_issues_another_user_may_browse(jira):
    viewer = jira.add_user("Vic Viewer", "vic@example.com")
    allowed = jira.create_issue("SUP", "Visible")
    jira.add_project("SEC", "Secret")
    hidden = jira.create_issue("SEC", "Hidden")
    jira.set_permissions(viewer["accountId"], "SEC", [])
    check = {"accountId": viewer["accountId"], "projectPermissions": [
        {"permissions": ["BROWSE_PROJECTS"], "issues": [int(allowed["id"]), int(hidden["id"])]}]}
    headers = basic(jira.app_user, APP_USER_TOKEN)
    refused = httpx.post(f"{jira.url}/rest/api/3/permissions/check", headers=headers, json=check)
    assert refused.status_code == 403  # another user's permissions: only for holders of Administer Jira
    jira.set_global_permissions(jira.app_user["accountId"], {"ADMINISTER"})
    response = httpx.post(f"{jira.url}/rest/api/3/permissions/check", headers=headers, json=check)
    assert response.status_code == 200
    assert response.json()["projectPermissions"] == [
        {"permission": "BROWSE_PROJECTS", "issues": [int(allowed["id"])], "projects": []}]
    mine = httpx.get(f"{jira.url}/rest/api/3/mypermissions", headers=basic(jira.app_user, APP_USER_TOKEN),
                     params={"projectKey": "SUP", "permissions": "BROWSE_PROJECTS,ADD_COMMENTS"}).json()
    assert mine["permissions"]["ADD_COMMENTS"]["havePermission"] is True
    assert jira.violations == []


def test_search_jql_pages_with_next_page_token_and_filters_by_property(jira):
    keys = [jira.create_issue("SUP", f"Issue {n}")["key"] for n in range(5)]
    jira.issue(keys[1])["properties"]["intercom"] = {"count": 2}
    headers = basic(jira.app_user, APP_USER_TOKEN)
    seen, token = [], None
    while True:
        body = {"jql": "project = SUP ORDER BY key ASC", "maxResults": 2, "fields": ["summary"]}
        if token:
            body["nextPageToken"] = token
        page = httpx.post(f"{jira.url}/rest/api/3/search/jql", headers=headers, json=body).json()
        seen += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if page["isLast"]:
            break
    assert seen == keys
    found = httpx.get(f"{jira.url}/rest/api/3/search/jql", headers=headers,
                      params={"jql": "issue.property[intercom].count > 0"}).json()
    assert [i["id"] for i in found["issues"]] == [jira.issue(keys[1])["id"]]
    assert jira.violations == []


def test_a_registered_webhook_is_signed_over_the_raw_body_with_sha256(jira, receiver):
    response = httpx.post(f"{jira.url}/rest/webhooks/1.0/webhook", headers=basic(jira.admin_user, "ada-token"),
                          json={"name": "connector", "url": receiver.url, "events": ["jira:issue_created"],
                                "secret": "hook-secret"})
    assert response.status_code == 201
    jira.create_issue("SUP", "Printer")
    [delivery] = receiver.requests
    expected = "sha256=" + hmac.new(b"hook-secret", delivery["raw"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(delivery["headers"]["X-Hub-Signature"], expected)
    assert delivery["headers"]["X-Atlassian-Webhook-Flow"] == "Primary"
    assert "X-Atlassian-Webhook-Retry" not in delivery["headers"]
    assert jira.unvalidated == {"POST /rest/webhooks/1.0/webhook": 1}  # not in the stored v3 spec


def test_cloud_payloads_carry_the_keys_of_the_real_samples(jira, receiver):
    jira.add_webhook(receiver.url)
    key = jira.create_issue("SUP", "Printer")["key"]
    jira.transition(key, "Done")
    jira.assign(key, jira.admin_user["accountId"])
    comment = jira.add_comment(key, "Fixed", internal=True)
    jira.delete_issue(key)
    by_event = {}
    for body in receiver.bodies():
        by_event.setdefault((body["webhookEvent"], body.get("issue_event_type_name")), body)

    created = by_event[("jira:issue_created", "issue_created")]
    assert set(sample("webhook-issue-created.json")) <= set(created)
    assert set(sample("webhook-issue-created.json")["issue"]["fields"]) & {"status", "summary", "project"} <= set(
        created["issue"]["fields"])
    resolved = by_event[("jira:issue_updated", "issue_generic")]
    assert set(sample("webhook-issue-updated-resolved.json")) <= set(resolved)
    assert {(i["field"], i["toString"]) for i in resolved["changelog"]["items"]} == {
        ("status", "Done"), ("resolution", "Done")}
    assert all("fieldId" in i for i in resolved["changelog"]["items"])
    assert set(sample("webhook-issue-updated-assigned.json")) <= set(by_event[("jira:issue_updated",
                                                                                "issue_assigned")])
    comment_created = by_event[("comment_created", None)]
    assert set(sample("webhook-cloud-comment-created.json")) <= set(comment_created)
    assert set(sample("webhook-cloud-comment-created.json")["comment"]) <= set(comment_created["comment"])
    assert comment_created["comment"]["jsdPublic"] is False and comment_created["comment"]["id"] == comment["id"]
    assert set(sample("webhook-issue-deleted.json")) <= set(by_event[("jira:issue_deleted", None)])
    assert "accountId" in created["user"]


def test_data_center_comment_events_carry_no_issue_and_users_have_names(jira_dc, receiver):
    jira_dc.add_webhook(receiver.url)
    key = jira_dc.create_issue("SUP", "Printer")["key"]
    jira_dc.add_comment(key, "Looking", visibility={"type": "role", "value": "Developers"})
    bodies = {b["webhookEvent"] + ":" + str(b.get("issue_event_type_name")): b for b in receiver.bodies()}
    comment_created = bodies["comment_created:None"]
    assert set(comment_created) == set(sample("webhook-server-comment-created.json"))
    assert "issue" not in comment_created
    assert comment_created["comment"]["visibility"] == {"type": "role", "value": "Developers"}
    assert set(sample("webhook-server-comment-created.json")["comment"]) <= set(comment_created["comment"])
    assert "name" in bodies["jira:issue_updated:issue_commented"]["user"]
    assert "X-Atlassian-Webhook-Identifier" not in receiver.requests[0]["headers"]


def test_moving_an_issue_changes_its_key_but_the_old_key_still_finds_it(jira, receiver):
    jira.add_webhook(receiver.url)
    jira.add_project("OPS", "Operations")
    old = jira.create_issue("SUP", "Printer")
    new_key = jira.move_issue(old["key"], "OPS")
    assert new_key.startswith("OPS-")
    moved = receiver.bodies()[-1]
    assert moved["issue_event_type_name"] == "issue_moved" and moved["issue"]["key"] == new_key
    assert {"field": "Key", "fromString": old["key"], "toString": new_key}.items() <= next(
        i for i in moved["changelog"]["items"] if i["field"] == "Key").items()
    assert cloud_client(jira).issue(old["key"])["key"] == new_key


def test_a_delivery_is_redelivered_with_the_same_identifier_and_a_retry_header(jira, receiver):
    jira.add_webhook(receiver.url, events=["jira:issue_created"])
    jira.create_issue("SUP", "Printer")
    identifier = receiver.requests[0]["headers"]["X-Atlassian-Webhook-Identifier"]
    assert jira.redeliver(identifier) == [204]
    assert jira.redeliver(identifier, times=4, concurrent=True) == [204] * 4
    assert {r["headers"]["X-Atlassian-Webhook-Identifier"] for r in receiver.requests} == {identifier}
    assert [r["raw"] for r in receiver.requests] == [receiver.requests[0]["raw"]] * 6
    assert sorted(r["headers"].get("X-Atlassian-Webhook-Retry", "0") for r in receiver.requests) == [
        "0", "1", "2", "3", "4", "5"]
    jira.create_issue("SUP", "Another")
    assert receiver.requests[-1]["headers"]["X-Atlassian-Webhook-Identifier"] != identifier


def test_a_failed_webhook_send_is_recorded_not_raised(jira):
    jira.add_webhook("http://127.0.0.1:9/nothing-listens-here")
    jira.create_issue("SUP", "Printer")
    [delivery] = jira.deliveries
    assert delivery.status is None and "Error" in delivery.attempts[0].error


def test_rest_writes_by_the_app_user_emit_webhooks_authored_by_it(jira, receiver):
    jira.add_webhook(receiver.url, events=["comment_created"])
    key = jira.create_issue("SUP", "Printer")["key"]
    cloud_client(jira).issue_add_comment(key, "From Intercom")
    [body] = receiver.bodies()
    assert body["comment"]["author"]["accountId"] == jira.app_user["accountId"]
    assert body["comment"]["author"]["accountType"] == "app"


def test_the_control_plane_performs_mutations_as_a_user(jira, receiver):
    control = SimControl(jira.url)
    control.post("webhooks", {"url": receiver.url})
    created = control.post("issues", {"project_key": "SUP", "summary": "From another process"})
    control.post(f"issues/{created['key']}/transition", {"status_name": "In Progress",
                                                         "as_user": jira.admin_user["accountId"]})
    assert jira.issue(created["key"])["fields"]["status_id"] == "3"
    assert [d["event"] for d in control.get("deliveries")] == ["jira:issue_created", "jira:issue_updated"]


def test_a_property_value_over_32768_bytes_is_refused_as_jira_does(jira):
    key = jira.create_issue("SUP", "Big property")["key"]
    headers = {**basic(jira.app_user, APP_USER_TOKEN), "Content-Type": "application/json"}
    url = f"{jira.url}/rest/api/3/issue/{key}/properties/big"
    fits = json.dumps({"ids": "x" * 32_000})
    assert httpx.put(url, content=fits, headers=headers).status_code == 201
    too_big = json.dumps({"ids": "x" * 32_800})
    refused = httpx.put(url, content=too_big, headers=headers)
    assert refused.status_code == 400
    assert "32768" in refused.json()["errorMessages"][0]
    assert jira.issue(key)["properties"]["big"] == json.loads(fits)


def test_past_the_burst_limit_jira_answers_429_with_retry_after_and_rate_limit_headers(jira):
    jira.rate_limit = 3
    headers = basic(jira.app_user, APP_USER_TOKEN)
    with httpx.Client(headers=headers) as client:
        answers = [client.get(f"{jira.url}/rest/api/3/myself") for _ in range(8)]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert answers[0].headers["X-RateLimit-Remaining"] in {"2", "1", "0"}
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "eight calls in about one second must pass a limit of three per second"
    assert refused[0].headers["Retry-After"] == "1"
    assert refused[0].headers["X-RateLimit-NearLimit"] == "true"
    assert jira.throttled == len(refused)
