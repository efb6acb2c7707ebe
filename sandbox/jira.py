"""JiraSimulator: Jira Cloud (REST v3 + v2 aliases) or Data Center (REST v2), with admin webhooks.

Mutations (`create_issue`, `transition`, `assign`, `edit_fields`, `add_comment`, `edit_comment`,
`delete_comment`, `delete_issue`, `move_issue`) are performed "as" a user and send webhooks shaped like the
real Cloud or Server/DC samples to every registered URL. REST writes by the connector (comments,
transitions, field edits) emit webhooks too, authored by the app user, as real Jira does.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox import jira_payloads as p
from sandbox.jira_create import CreateScreens
from sandbox.jira_jql import JqlError, compile_jql, sort_key
from sandbox.server import HttpError, Request, Response, SimServer
from sandbox.webhooks import Delivery, WebhookSender, hub_signature

ALL_EVENTS = ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created",
              "comment_updated", "comment_deleted"]
PERMISSIONS = {
    "BROWSE_PROJECTS": "Browse Projects", "CREATE_ISSUES": "Create Issues", "EDIT_ISSUES": "Edit Issues",
    "ADD_COMMENTS": "Add Comments", "TRANSITION_ISSUES": "Transition Issues",
    "ASSIGN_ISSUES": "Assign Issues", "LINK_ISSUES": "Link Issues", "DELETE_ISSUES": "Delete Issues",
    "ADMINISTER_PROJECTS": "Administer Projects", "CREATE_ATTACHMENTS": "Create Attachments",
    # Global permissions; granted here per project for simplicity.
    "ADMINISTER": "Administer Jira", "SYSTEM_ADMIN": "Jira System Administrators",
}
DEFAULT_PERMISSIONS = frozenset(PERMISSIONS) - {"DELETE_ISSUES", "ADMINISTER_PROJECTS", "ADMINISTER", "SYSTEM_ADMIN"}
COUNT_FIELD = "customfield_10050"
DEFAULT_RATE_LIMIT = 100  # REST calls per second per credential
PROPERTY_MAX_BYTES = 32_768  # "The maximum length of the property value is 32768 bytes."
APP_USER_TOKEN = "app-token"
ADMIN_TOKEN = "ada-token"
API_PREFIXES = ("/rest/api/3", "/rest/api/2", "/rest/api/latest")


class JiraSimulator(SimServer):
    spec_name = "jira"

    def __init__(self, *, deployment: str = "cloud", webhook_identifiers: bool | None = None,
                 server_title: str = "Jira sandbox", rate_limit: int = DEFAULT_RATE_LIMIT, **options: Any) -> None:
        if deployment not in ("cloud", "datacenter"):
            raise ValueError("deployment is 'cloud' or 'datacenter'")
        super().__init__(**options)
        # Jira's burst limit: calls per one-second window per credential; past it, 429 with Retry-After.
        self.rate_limit = rate_limit
        self.calls: Counter[tuple[str, int]] = Counter()  # (credential, second) -> calls that arrived in it
        self.throttled = 0
        self.deployment = deployment
        self.cloud = deployment == "cloud"
        # What tells one Jira from another: Cloud's cloud id (GET /_edge/tenant_info), DC's server title.
        self.cloud_id = str(uuid.uuid4())
        self.server_title = server_title
        # Identifier headers are documented for Cloud only; DC deliveries leave them out unless asked.
        self.webhook_identifiers = self.cloud if webhook_identifiers is None else webhook_identifiers
        self.sender = WebhookSender("Atlassian Webhook HTTP Client")
        self._local = threading.local()  # per thread: mutation depth and deliveries waiting for the unlock
        self.public_paths: set[str] = set()  # served without Jira credentials (the OAuth 2.0 endpoints)
        self._seed()
        self._add_routes()
        self._add_controls()

    @property
    def base(self) -> str:
        try:
            return self.url
        except RuntimeError:
            return "http://jira.sandbox.invalid"

    # ----- state
    def _seed(self) -> None:
        self._ids = itertools.count(10100)
        self.users: dict[str, dict[str, Any]] = {}
        self.credentials: dict[str, str] = {}  # "basic:<email>:<token>" or "bearer:<pat>" -> account id
        # OAuth 2.0 access tokens (Sign in with Atlassian, Forge's user tokens) -> account id. Cloud accepts them
        # only through Atlassian's API gateway (/ex/jira/<cloud id>/…), Data Center at its own base URL.
        self.oauth_tokens: dict[str, str] = {}
        self.oauth_expiry: dict[str, float] = {}  # token -> unix time it stops working
        self.projects: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        # Project roles a comment can be restricted to (visibility {"type": "role", "value": name}).
        self.roles = {"Administrators", "Developers", "Service Desk Team", "Users"}
        self.permissions: dict[tuple[str, str], set[str]] = {}
        self.global_permissions: dict[str, set[str]] = {}  # account id -> ADMINISTER, SYSTEM_ADMIN
        self.webhooks: list[dict[str, Any]] = []
        self.statuses = {s["id"]: s for s in (
            {"id": "10000", "name": "To Do", "category": "new"},
            {"id": "3", "name": "In Progress", "category": "indeterminate"},
            {"id": "10001", "name": "Done", "category": "done"})}
        self.issue_types = {t["id"]: t for t in (
            {"id": "10001", "name": "Task", "subtask": False}, {"id": "10002", "name": "Bug", "subtask": False},
            {"id": "10003", "name": "Story", "subtask": False})}
        self.priorities = {str(i): n for i, n in enumerate(["Highest", "High", "Medium", "Low", "Lowest"], 1)}
        self.fields = [
            {"id": "summary", "key": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
            {"id": "status", "key": "status", "name": "Status", "custom": False, "schema": {"type": "status"}},
            {"id": "assignee", "key": "assignee", "name": "Assignee", "custom": False,
             "schema": {"type": "user"}},
            {"id": "labels", "key": "labels", "name": "Labels", "custom": False,
             "schema": {"type": "array", "items": "string"}},
            {"id": COUNT_FIELD, "key": COUNT_FIELD, "name": "Intercom conversations", "custom": True,
             "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
                        "customId": 10050}},
        ]
        self.create_screens = CreateScreens("", self.priorities, self.issue_types)
        self.app_user = self.add_user("Intercom Connector", "connector@apps.example.com", account_type="app",
                                      password=APP_USER_TOKEN)
        self.admin_user = self.add_user("Ada Admin", "ada@example.com", password=ADMIN_TOKEN)
        self.add_project("SUP", "Support")

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self._seed()
            self.sender.deliveries.clear()
            self.calls.clear()
            self.throttled = 0

    def _next_id(self) -> str:
        return str(next(self._ids))

    def add_user(self, display_name: str, email: str, *, account_type: str = "atlassian", active: bool = True,
                 password: str | None = None) -> dict[str, Any]:
        """A user; `password` is the API token (Cloud, with the email) or the personal access token (DC)."""
        with self.lock:
            account_id = "5b10" + uuid.uuid4().hex[:20]
            name = email.split("@")[0]
            user = {"accountId": account_id, "displayName": display_name, "emailAddress": email,
                    "accountType": account_type, "active": active, "name": name,
                    "key": f"JIRAUSER{len(self.users) + 10000}"}
            self.users[account_id] = user
            if password:
                self.add_credentials(account_id, password)
            return user

    def add_credentials(self, account_id: str, secret: str) -> None:
        with self.lock:
            user = self.users[account_id]
            key = f"basic:{user['emailAddress']}:{secret}" if self.cloud else f"bearer:{secret}"
            self.credentials[key] = account_id

    def issue_oauth_token(self, account_id: str, *, lifetime: float | None = None) -> str:
        """An OAuth 2.0 access token that acts as this user (what 3LO or Forge's appUserToken hands out)."""
        with self.lock:
            token = "oauth-" + uuid.uuid4().hex
            self.oauth_tokens[token] = account_id
            if lifetime is not None:
                self.oauth_expiry[token] = time.time() + lifetime
            return token

    def oauth_account(self, token: str) -> str | None:
        """Whose this OAuth 2.0 access token is, while it works."""
        with self.lock:
            if self.oauth_expiry.get(token, float("inf")) <= time.time():
                return None
            return self.oauth_tokens.get(token)

    @property
    def gateway_prefix(self) -> str:
        """Cloud: where Atlassian's API gateway serves this site (`https://api.atlassian.com/ex/jira/<cloud id>`)."""
        return f"/ex/jira/{self.cloud_id}"

    def revoke_credentials(self, account_id: str) -> None:
        with self.lock:
            self.credentials = {k: v for k, v in self.credentials.items() if v != account_id}
            self.oauth_tokens = {k: v for k, v in self.oauth_tokens.items() if v != account_id}

    def add_project(self, key: str, name: str, *, style: str = "classic") -> dict[str, Any]:
        with self.lock:
            project = {"id": self._next_id(), "key": key, "name": name, "style": style, "type": "software",
                       "counter": itertools.count(1)}
            self.projects[project["id"]] = project
            return project

    def set_permissions(self, account_id: str, project_key: str, keys: set[str] | list[str]) -> None:
        with self.lock:
            self.permissions[(account_id, project_key)] = set(keys)

    def set_global_permissions(self, account_id: str, keys: set[str] | list[str]) -> None:
        with self.lock:
            self.global_permissions[account_id] = set(keys)

    def has_permission(self, account_id: str, project_key: str, key: str) -> bool:
        user = self.users.get(account_id)
        if user is None or not user["active"]:
            return False
        return key in self.permissions.get((account_id, project_key), DEFAULT_PERMISSIONS)

    def add_webhook(self, url: str, *, secret: str | None = None, events: list[str] | None = None,
                    name: str = "connector") -> dict[str, Any]:
        with self.lock:
            hook = {"id": len(self.webhooks) + 1, "name": name, "url": url, "events": events or ALL_EVENTS,
                    "secret": secret, "enabled": True}
            self.webhooks.append(hook)
            return hook

    def _project(self, id_or_key: str) -> dict[str, Any]:
        for project in self.projects.values():
            if id_or_key in (project["id"], project["key"]):
                return project
        raise HttpError(404, f"No project could be found with key '{id_or_key}'.")

    def issue(self, id_or_key: str) -> dict[str, Any]:
        """The internal issue by id, current key or a key it had before a move."""
        found = self.issues.get(id_or_key)
        if found is None:
            for issue in self.issues.values():
                if issue["key"] == id_or_key or id_or_key in issue["old_keys"]:
                    found = issue
                    break
        if found is None:
            raise HttpError(404, "Issue does not exist or you do not have permission to see it.")
        return found

    def _status_by_category(self, category: str) -> dict[str, Any]:
        return next(s for s in self.statuses.values() if s["category"] == category)

    # ----- mutations that emit webhooks
    def create_issue(self, project_key: str, summary: str, *, as_user: str | None = None,
                     description: Any = None, issue_type: str = "Task", priority: str = "Medium",
                     labels: list[str] | None = None, assignee: str | None = None,
                     fields: dict[str, Any] | None = None) -> dict[str, Any]:
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            project = self._project(project_key)
            issue_id = self._next_id()
            now = p.jira_time()
            type_id = next((t["id"] for t in self.issue_types.values() if t["name"] == issue_type), "10001")
            priority_id = next((i for i, n in self.priorities.items() if n == priority), "3")
            issue = {"id": issue_id, "key": f"{project['key']}-{next(project['counter'])}", "old_keys": [],
                     "project_id": project["id"], "properties": {}, "remotelinks": [], "comments": [],
                     "fields": {"summary": summary, "description": description,
                                "status_id": self._status_by_category("new")["id"], "assignee": assignee,
                                "reporter": actor, "priority_id": priority_id, "labels": list(labels or []),
                                "issuetype_id": type_id, "resolution": None, "fixVersions": [],
                                "created": now, "updated": now, COUNT_FIELD: None, **(fields or {})}}
            self.issues[issue_id] = issue
            items = [p.changelog_item("assignee", None, None, assignee, self._name(assignee), self.cloud,
                                      "assignee")] if assignee else []
            self._emit("jira:issue_created", issue, actor, event_type="issue_created", changelog=items)
            return self.issue_json(issue)

    def transition(self, key: str, status_name: str, *, as_user: str | None = None) -> None:
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            issue = self.issue(key)
            target = next((s for s in self.statuses.values() if s["name"].lower() == status_name.lower()), None)
            if target is None:
                raise HttpError(400, f"No status named {status_name}")
            self._apply_transition(issue, target, actor)

    def _apply_transition(self, issue: dict[str, Any], target: dict[str, Any], actor: str) -> None:
        fields = issue["fields"]
        source = self.statuses[fields["status_id"]]
        if source["id"] == target["id"]:
            return
        fields["status_id"] = target["id"]
        items = [p.changelog_item("status", source["id"], source["name"], target["id"], target["name"],
                                  self.cloud, "status")]
        if target["category"] == "done" and fields["resolution"] is None:
            fields["resolution"] = "Done"
            items.insert(0, p.changelog_item("resolution", None, None, "10000", "Done", self.cloud, "resolution"))
        elif target["category"] != "done" and fields["resolution"] is not None:
            fields["resolution"] = None
            items.insert(0, p.changelog_item("resolution", "10000", "Done", None, None, self.cloud, "resolution"))
        event_type = "issue_generic"
        if not self.cloud:
            event_type = {"done": "issue_resolved", "indeterminate": "issue_work_started"}.get(
                target["category"], "issue_reopened" if source["category"] == "done" else "issue_generic")
        self._touch(issue)
        self._emit("jira:issue_updated", issue, actor, event_type=event_type, changelog=items)

    def assign(self, key: str, assignee: str | None, *, as_user: str | None = None) -> None:
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            issue = self.issue(key)
            before = issue["fields"]["assignee"]
            issue["fields"]["assignee"] = assignee
            self._touch(issue)
            item = p.changelog_item("assignee", self._user_ref(before), self._name(before),
                                    self._user_ref(assignee), self._name(assignee), self.cloud, "assignee")
            self._emit("jira:issue_updated", issue, actor, event_type="issue_assigned", changelog=[item])

    def edit_fields(self, key: str, changes: dict[str, Any], *, as_user: str | None = None) -> None:
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            self._edit(self.issue(key), changes, actor)

    def _edit(self, issue: dict[str, Any], changes: dict[str, Any], actor: str) -> None:
        items = []
        for name, value in changes.items():
            if name == "assignee":
                value = self._account_from_ref(value)
            elif name == "description" or name == "summary" or name == "labels" or name.startswith("custom"):
                pass
            elif name == "priority":
                value = str(value.get("id") or next(i for i, n in self.priorities.items() if n == value["name"]))
                name = "priority_id"
            else:
                raise HttpError(400, f"Field '{name}' cannot be set. It is not on the appropriate screen, "
                                     "or unknown.")
            before = issue["fields"].get(name)
            issue["fields"][name] = value
            label = next((f["name"] for f in self.fields if f["id"] == name), name.removesuffix("_id"))
            custom = name.startswith("customfield_")
            items.append(p.changelog_item(label if custom else name.removesuffix("_id"), None,
                                          _text(before), None, _text(value), self.cloud, name.removesuffix("_id"),
                                          "custom" if custom else "jira"))
        self._touch(issue)
        self._emit("jira:issue_updated", issue, actor, event_type="issue_updated", changelog=items)

    def add_comment(self, key: str, body: Any, *, as_user: str | None = None, internal: bool = False,
                    visibility: dict[str, str] | None = None) -> dict[str, Any]:
        """A comment; `internal` is a JSM internal note (jsdPublic false); `visibility` a role/group limit."""
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            issue = self.issue(key)
            now = p.jira_time()
            comment = {"id": self._next_id(), "author": actor, "update_author": actor, "body": body,
                       "created": now, "updated": now, "visibility": visibility, "jsd_public": not internal}
            issue["comments"].append(comment)
            self._touch(issue)
            self._emit_comment("comment_created", "issue_commented", issue, comment, actor)
            return self.comment_json(issue, comment, v3=self.cloud)

    def edit_comment(self, key: str, comment_id: str, body: Any, *, as_user: str | None = None) -> None:
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            issue = self.issue(key)
            comment = self._comment(issue, comment_id)
            comment.update(body=body, update_author=actor, updated=p.jira_time())
            self._emit_comment("comment_updated", "issue_comment_edited", issue, comment, actor)

    def delete_comment(self, key: str, comment_id: str, *, as_user: str | None = None) -> None:
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            issue = self.issue(key)
            comment = self._comment(issue, comment_id)
            issue["comments"].remove(comment)
            self._emit_comment("comment_deleted", "issue_comment_deleted", issue, comment, actor)

    def delete_issue(self, key: str, *, as_user: str | None = None) -> None:
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            issue = self.issue(key)
            self._emit("jira:issue_deleted", issue, actor)
            del self.issues[issue["id"]]

    def move_issue(self, key: str, project_key: str, *, as_user: str | None = None) -> str:
        """Move to another project; the key changes, the id stays. Returns the new key."""
        actor = as_user or self.admin_user["accountId"]
        with self._mutating():
            issue = self.issue(key)
            source, target = self.projects[issue["project_id"]], self._project(project_key)
            old_key = issue["key"]
            issue["old_keys"].append(old_key)
            issue["key"] = f"{target['key']}-{next(target['counter'])}"
            issue["project_id"] = target["id"]
            self._touch(issue)
            items = [p.changelog_item("project", source["id"], source["name"], target["id"], target["name"],
                                      self.cloud, "project"),
                     p.changelog_item("Key", None, old_key, None, issue["key"], self.cloud, "issuekey")]
            self._emit("jira:issue_updated", issue, actor, event_type="issue_moved", changelog=items)
            return issue["key"]

    def _comment(self, issue: dict[str, Any], comment_id: str) -> dict[str, Any]:
        for comment in issue["comments"]:
            if comment["id"] == str(comment_id):
                return comment
        raise HttpError(404, f"Can not find a comment for the id: {comment_id}.")

    def _touch(self, issue: dict[str, Any]) -> None:
        issue["fields"]["updated"] = p.jira_time()

    def _name(self, account_id: str | None) -> str | None:
        return self.users[account_id]["displayName"] if account_id in self.users else None

    def _user_ref(self, account_id: str | None) -> str | None:
        if account_id not in self.users:
            return None
        return account_id if self.cloud else self.users[account_id]["name"]

    def _account_from_ref(self, ref: Any) -> str | None:
        if ref is None:
            return None
        wanted = ref.get("accountId") or ref.get("name") or ref.get("id") if isinstance(ref, dict) else ref
        for user in self.users.values():
            if wanted in (user["accountId"], user["name"], user["key"]):
                return user["accountId"]
        raise HttpError(400, f"User '{wanted}' does not exist.")

    # ----- rendering
    def issue_json(self, issue: dict[str, Any], *, v3: bool | None = None, wanted: set[str] | None = None,
                   properties: list[str] | None = None) -> dict[str, Any]:
        v3 = self.cloud if v3 is None else v3
        base, raw = self.base, issue["fields"]
        project = self.projects[issue["project_id"]]
        issue_type = self.issue_types[raw["issuetype_id"]]
        fields = {
            "summary": raw["summary"], "description": p.as_version(raw["description"], v3),
            "status": p.status_json(self.statuses[raw["status_id"]], base),
            "assignee": p.user_json(self.users.get(raw["assignee"]), base, self.cloud),
            "reporter": p.user_json(self.users.get(raw["reporter"]), base, self.cloud),
            "priority": {"self": f"{base}/rest/api/2/priority/{raw['priority_id']}",
                         "iconUrl": f"{base}/images/icons/priorities/x.svg",
                         "name": self.priorities[raw["priority_id"]], "id": raw["priority_id"]},
            "labels": list(raw["labels"]),
            "issuetype": {"self": f"{base}/rest/api/2/issuetype/{issue_type['id']}", "id": issue_type["id"],
                          "description": "", "iconUrl": f"{base}/images/icons/issuetypes/task.svg",
                          "name": issue_type["name"], "subtask": issue_type["subtask"], "avatarId": 10318},
            "project": p.project_json(project, base),
            "resolution": None if raw["resolution"] is None else {
                "self": f"{base}/rest/api/2/resolution/10000", "id": "10000", "description": "",
                "name": raw["resolution"]},
            "fixVersions": list(raw["fixVersions"]), "created": raw["created"], "updated": raw["updated"],
            **{k: v for k, v in raw.items() if k.startswith("customfield_")},
        }
        if wanted is None or "comment" in wanted or "*all" in wanted:
            comments = [self.comment_json(issue, c, v3=v3) for c in issue["comments"]]
            fields["comment"] = {"comments": comments, "self": f"{base}/rest/api/2/issue/{issue['id']}/comment",
                                 "maxResults": len(comments), "total": len(comments), "startAt": 0}
        if wanted is not None and not wanted & {"*all", "*navigable"}:
            fields = {k: v for k, v in fields.items() if k in wanted}
        result = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
                  "id": issue["id"], "self": f"{base}/rest/api/2/issue/{issue['id']}", "key": issue["key"],
                  "fields": fields}
        if properties:
            keys = issue["properties"] if "*all" in properties else properties
            result["properties"] = {k: issue["properties"][k] for k in keys if k in issue["properties"]}
        return result

    def comment_json(self, issue: dict[str, Any], comment: dict[str, Any], *, v3: bool) -> dict[str, Any]:
        return p.comment_json(comment, self.users, issue["id"], self.base, self.cloud, v3)

    # ----- webhooks
    def _emit(self, event: str, issue: dict[str, Any], actor: str, *, event_type: str | None = None,
              changelog: list[dict[str, Any]] | None = None, comment: dict[str, Any] | None = None,
              with_issue: bool = True, with_user: bool = True) -> None:
        body: dict[str, Any] = {"timestamp": int(time.time() * 1000), "webhookEvent": event}
        if event_type:
            body["issue_event_type_name"] = event_type
        if with_user:
            body["user"] = p.user_json(self.users.get(actor), self.base, self.cloud)
        if with_issue:
            body["issue"] = self.issue_json(issue, v3=False, wanted={"*all"})
            body["issue"]["fields"].pop("comment", None)
        if changelog is not None:
            body["changelog"] = {"id": self._next_id(), "items": changelog}
        if comment is not None:
            body["comment"] = self.comment_json(issue, comment, v3=False)
        self._deliver(event, body)

    def _emit_comment(self, event: str, event_type: str, issue: dict[str, Any], comment: dict[str, Any],
                      actor: str) -> None:
        # Cloud sends the issue with comment events; Server/DC sends none, and no user on comment_created.
        self._emit(event, issue, actor, comment=comment, with_issue=self.cloud,
                   with_user=self.cloud or event != "comment_created")
        self._emit("jira:issue_updated", issue, actor, event_type=event_type,
                   comment=None if event == "comment_deleted" else comment)

    def _deliver(self, event: str, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        for hook in list(self.webhooks):
            if not hook["enabled"] or event not in hook["events"]:
                continue
            identifier = str(uuid.uuid4())
            headers = {"X-Atlassian-Webhook-Flow": "Primary"}
            if self.webhook_identifiers:
                headers["X-Atlassian-Webhook-Identifier"] = identifier
            if hook["secret"]:
                headers["X-Hub-Signature"] = hub_signature(raw, hook["secret"])
            self._local.outbox.append(Delivery(identifier, hook["url"], event, raw, headers))

    @contextmanager
    def _mutating(self) -> Iterator[None]:
        """Hold the state lock; send the webhooks it produced once released, so a receiver that calls
        back into the simulator cannot deadlock with it."""
        local = self._local
        if not hasattr(local, "outbox"):
            local.outbox, local.depth = [], 0
        local.depth += 1
        try:
            with self.lock:
                yield
        finally:
            local.depth -= 1
            if local.depth == 0:
                pending, local.outbox = local.outbox, []
                for delivery in pending:
                    self.sender.send(delivery)

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.sender.deliveries)

    def redeliver(self, identifier: str, times: int = 1, concurrent: bool = False) -> list[int | None]:
        return self.sender.redeliver(identifier, times=times, concurrent=concurrent)

    # ----- pipeline hooks
    def error(self, status: int, message: str, code: str | None = None) -> Response:
        return Response(status, {"errorMessages": [message], "errors": {}})

    def dispatch(self, request: Request) -> Response:
        """Cloud's REST API is also served through Atlassian's API gateway, for OAuth 2.0 tokens only."""
        request.via_gateway = False  # type: ignore[attr-defined]
        if self.cloud and request.path.startswith(self.gateway_prefix + "/"):
            request.path = request.path[len(self.gateway_prefix):]
            request.via_gateway = True  # type: ignore[attr-defined]
        return super().dispatch(request)

    def authenticate(self, request: Request) -> Response | None:
        if request.path in self.public_paths:
            return None
        header = request.headers.get("Authorization") or ""
        key = None
        oauth = self.oauth_account(header[7:]) if header.startswith("Bearer ") else None
        if self.cloud and getattr(request, "via_gateway", False):
            header = ""  # the gateway takes OAuth 2.0 tokens only
        elif self.cloud:
            oauth = None  # a Cloud site's own URL takes no OAuth 2.0 tokens
        if oauth:
            key = f"oauth:{oauth}"
        elif header.startswith("Basic "):
            try:
                email, _, secret = base64.b64decode(header[6:]).decode().partition(":")
                key = f"basic:{email}:{secret}"
            except (ValueError, UnicodeDecodeError):
                key = None
        elif header.startswith("Bearer "):
            key = f"bearer:{header[7:]}"
        with self.lock:
            account_id = oauth or (self.credentials.get(key) if key else None)
            user = self.users.get(account_id) if account_id else None
        if user is None or not user["active"]:
            return Response(401, {"errorMessages": ["You are not authenticated. Authentication required to "
                                                     "perform this operation."], "errors": {}},
                            {"WWW-Authenticate": 'Basic realm="protected-area"'})
        request.account_id = account_id  # type: ignore[attr-defined]
        return None

    def admit(self, request: Request) -> Response | None:
        """Jira's burst rate limit, counted per credential in one-second windows."""
        second = int(request.arrived_at)
        key = (str(getattr(request, "account_id", "")), second)
        with self.lock:
            self.calls[key] += 1
            used = self.calls[key]
            for old in [k for k in self.calls if k[1] < second - 60]:
                del self.calls[old]
            if used > self.rate_limit:
                self.throttled += 1
        request.rate = (second, used)  # type: ignore[attr-defined]
        if used > self.rate_limit:
            response = self.error(429, "Rate limit exceeded.")
            response.headers.update({"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"})
            return response
        return None

    def finish(self, request: Request, response: Response) -> None:
        second, used = getattr(request, "rate", (None, 0))
        if second is None:
            return
        remaining = max(0, self.rate_limit - used)
        response.headers["X-RateLimit-Limit"] = str(self.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        response.headers["X-RateLimit-Reset"] = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(second + 60))
        if remaining < self.rate_limit * 0.2:
            response.headers["X-RateLimit-NearLimit"] = "true"

    def max_calls_per_second(self) -> int:
        with self.lock:
            return max(self.calls.values(), default=0)

    # ----- REST
    def _add_routes(self) -> None:
        prefixes = API_PREFIXES if self.cloud else API_PREFIXES[1:]
        for prefix in prefixes:
            v3 = prefix.endswith("/3")

            def add(method: str, path: str, handler: Any, write: bool = False, v3: bool = v3,
                    prefix: str = prefix) -> None:
                self.router.add(method, prefix + path, lambda r, h=handler, v=v3: h(r, v), write=write)

            add("GET", "/myself", self._myself)
            add("GET", "/serverInfo", self._server_info)
            add("GET", "/project/search", self._project_search)
            add("GET", "/project/{projectIdOrKey}", self._project_get)
            add("GET", "/mypermissions", self._mypermissions)
            add("POST", "/permissions/check", self._permissions_check)
            add("GET", "/field", lambda r, v: Response(200, copy.deepcopy(self.fields)))
            add("POST", "/field", self._field_create, write=True)
            add("POST", "/screens/addToDefault/{fieldId}", self._field_to_default_screen, write=True)
            add("GET", "/project/{projectIdOrKey}/statuses", self._project_statuses)
            add("GET", "/priority", self._priorities)
            add("POST", "/issue", self._issue_create, write=True)
            add("GET", "/issue/createmeta/{projectIdOrKey}/issuetypes", self._createmeta_types)
            add("GET", "/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}", self._createmeta_fields)
            add("GET", "/issue/{issueIdOrKey}", self._issue_get)
            add("PUT", "/issue/{issueIdOrKey}", self._issue_put, write=True)
            add("GET", "/issue/{issueIdOrKey}/remotelink", self._remotelinks)
            add("POST", "/issue/{issueIdOrKey}/remotelink", self._remotelink_post, write=True)
            add("DELETE", "/issue/{issueIdOrKey}/remotelink", self._remotelink_delete, write=True)
            add("GET", "/issue/{issueIdOrKey}/remotelink/{linkId}", self._remotelink_get)
            add("DELETE", "/issue/{issueIdOrKey}/remotelink/{linkId}", self._remotelink_delete, write=True)
            add("GET", "/issue/{issueIdOrKey}/properties", self._property_keys)
            add("GET", "/issue/{issueIdOrKey}/properties/{propertyKey}", self._property_get)
            add("PUT", "/issue/{issueIdOrKey}/properties/{propertyKey}", self._property_put, write=True)
            add("DELETE", "/issue/{issueIdOrKey}/properties/{propertyKey}", self._property_delete, write=True)
            add("GET", "/issue/{issueIdOrKey}/comment", self._comments)
            add("POST", "/issue/{issueIdOrKey}/comment", self._comment_post, write=True)
            add("GET", "/issue/{issueIdOrKey}/comment/{id}", self._comment_get)
            add("PUT", "/issue/{issueIdOrKey}/comment/{id}", self._comment_put, write=True)
            add("DELETE", "/issue/{issueIdOrKey}/comment/{id}", self._comment_delete, write=True)
            add("GET", "/issue/{issueIdOrKey}/transitions", self._transitions)
            add("POST", "/issue/{issueIdOrKey}/transitions", self._transition_post, write=True)
            if self.cloud:
                add("GET", "/search/jql", self._search_jql)
                add("POST", "/search/jql", self._search_jql)
            if not v3:
                add("GET", "/search", self._search_paged)
                add("POST", "/search", self._search_paged)
        if self.cloud:  # not in the REST spec: the site's tenant, as every Cloud site answers it
            self.router.add("GET", "/_edge/tenant_info", lambda r: Response(200, {"cloudId": self.cloud_id}))
        self.router.add("POST", "/rest/webhooks/1.0/webhook", self._webhook_register, write=True)
        self.router.add("GET", "/rest/webhooks/1.0/webhook", lambda r: Response(200, [
            self._webhook_json(h) for h in self.webhooks]))
        self.router.add("DELETE", "/rest/webhooks/1.0/webhook/{id}", self._webhook_delete, write=True)

    def _visible_issue(self, request: Request) -> dict[str, Any]:
        with self.lock:
            issue = self.issue(request.params["issueIdOrKey"])
            project = self.projects[issue["project_id"]]
            if not self.has_permission(request.account_id, project["key"], "BROWSE_PROJECTS"):  # type: ignore
                raise HttpError(404, "Issue does not exist or you do not have permission to see it.")
            return issue

    def _require(self, request: Request, issue: dict[str, Any], permission: str) -> None:
        project = self.projects[issue["project_id"]]
        if not self.has_permission(request.account_id, project["key"], permission):  # type: ignore
            raise HttpError(403, f"You do not have the permission {permission} for {issue['key']}.")

    def _myself(self, request: Request, v3: bool) -> Response:
        user = self.users[request.account_id]  # type: ignore[attr-defined]
        body = p.user_json(user, self.base, self.cloud)
        body.update(emailAddress=user["emailAddress"], locale="en_GB",
                    groups={"size": 1, "items": []}, applicationRoles={"size": 1, "items": []})
        return Response(200, body)

    def _server_info(self, request: Request, v3: bool) -> Response:
        return Response(200, {"baseUrl": self.base, "version": "1001.0.0-SNAPSHOT" if self.cloud else "10.3.1",
                              "versionNumbers": [1001, 0, 0] if self.cloud else [10, 3, 1],
                              "deploymentType": "Cloud" if self.cloud else "Server", "buildNumber": 100261,
                              "buildDate": "2026-01-01T00:00:00.000+0000", "scmInfo": "sandbox",
                              "serverTitle": self.server_title, "serverTime": p.jira_time()})

    def _project_search(self, request: Request, v3: bool) -> Response:
        start = int(request.arg("startAt") or 0)
        size = int(request.arg("maxResults") or 50)
        with self.lock:
            values = [p.project_json(pr, self.base) for pr in self.projects.values()
                      if self.has_permission(request.account_id, pr["key"], "BROWSE_PROJECTS")]  # type: ignore
        page = values[start:start + size]
        return Response(200, {"self": f"{self.base}/rest/api/3/project/search", "maxResults": size,
                              "startAt": start, "total": len(values), "isLast": start + size >= len(values),
                              "values": page})

    def _project_get(self, request: Request, v3: bool) -> Response:
        with self.lock:
            project = self._project(request.params["projectIdOrKey"])
            return Response(200, p.project_json(project, self.base))

    def _permission_json(self, key: str, have: bool) -> dict[str, Any]:
        return {"id": str(list(PERMISSIONS).index(key) + 10), "key": key, "name": PERMISSIONS[key],
                "type": "PROJECT", "description": PERMISSIONS[key], "havePermission": have}

    def _mypermissions(self, request: Request, v3: bool) -> Response:
        wanted = [k for k in (request.arg("permissions") or "").split(",") if k]
        if self.cloud and not wanted:
            raise HttpError(400, "The permissions query parameter is required.")
        with self.lock:
            project_key = request.arg("projectKey") or request.arg("projectId")
            if request.arg("issueKey") or request.arg("issueId"):
                issue = self.issue(request.arg("issueKey") or request.arg("issueId"))
                project_key = self.projects[issue["project_id"]]["key"]
            if project_key:
                project_key = self._project(project_key)["key"]
            result = {}
            for key in wanted or list(PERMISSIONS):
                if key not in PERMISSIONS:
                    raise HttpError(400, f"Invalid permission key: {key}")
                if project_key:
                    have = self.has_permission(request.account_id, project_key, key)  # type: ignore[attr-defined]
                else:  # no project: the global permissions
                    have = key in self.global_permissions.get(request.account_id, set())  # type: ignore[attr-defined]
                result[key] = self._permission_json(key, have)
        return Response(200, {"permissions": result})

    def _field_create(self, request: Request, v3: bool) -> Response:
        """POST /field: Administer Jira only, as documented; a number field is searchable with exactnumber."""
        if not self.global_permissions.get(request.account_id, set()) & {"ADMINISTER", "SYSTEM_ADMIN"}:  # type: ignore
            raise HttpError(403, "You must have the Administer Jira global permission to create custom fields.")
        data = request.json() or {}
        if not data.get("name") or not data.get("type"):
            raise HttpError(400, "name and type are required.")
        with self.lock:
            custom_id = 10100 + sum(1 for f in self.fields if f.get("custom"))
            kind = data["type"].rsplit(":", 1)[-1]
            field = {"id": f"customfield_{custom_id}", "key": f"customfield_{custom_id}", "name": data["name"],
                     "custom": True, "searchable": bool(data.get("searcherKey")), "navigable": True, "orderable": True,
                     "clauseNames": [f"cf[{custom_id}]", data["name"]], "untranslatedName": data["name"],
                     "schema": {"type": "number" if kind == "float" else "string", "custom": data["type"],
                                "customId": custom_id}}
            self.fields.append(field)
        return Response(201, copy.deepcopy(field))

    def _field_to_default_screen(self, request: Request, v3: bool) -> Response:
        if not self.global_permissions.get(request.account_id, set()) & {"ADMINISTER", "SYSTEM_ADMIN"}:  # type: ignore
            raise HttpError(403, "You must have the Administer Jira global permission to change screens.")
        if not any(f["id"] == request.params["fieldId"] for f in self.fields):
            raise HttpError(404, "The field does not exist.")
        return Response(200, {})

    def _project_statuses(self, request: Request, v3: bool) -> Response:
        """GET /project/{key}/statuses: per issue type, the statuses of its workflow (here one for all)."""
        with self.lock:
            self._project(request.params["projectIdOrKey"])
            statuses = [p.status_json(s, self.base) for s in self.statuses.values()]
            return Response(200, [{"self": f"{self.base}/rest/api/2/issuetype/{t['id']}", "id": t["id"],
                                   "name": t["name"], "subtask": t["subtask"], "statuses": statuses}
                                  for t in self.issue_types.values()])

    def _priorities(self, request: Request, v3: bool) -> Response:
        return Response(200, [{"self": f"{self.base}/rest/api/2/priority/{i}", "id": i, "name": n,
                               "iconUrl": f"{self.base}/images/icons/priorities/x.svg", "statusColor": "#999999",
                               "description": n} for i, n in self.priorities.items()])

    def _permissions_check(self, request: Request, v3: bool) -> Response:
        data = request.json()
        account_id = data.get("accountId") or request.account_id  # type: ignore[attr-defined]
        caller = request.account_id  # type: ignore[attr-defined]
        # Documented: checking another user's permissions needs the Administer Jira global permission.
        if account_id != caller and not self.global_permissions.get(caller, set()) & {"ADMINISTER", "SYSTEM_ADMIN"}:
            raise HttpError(403, "You must have the Administer Jira global permission to check the permissions "
                                 "of other users.")
        grants = []
        with self.lock:
            for ask in data.get("projectPermissions", []):
                for key in ask.get("permissions", []):
                    issues = [i for i in ask.get("issues", []) if str(i) in self.issues and self.has_permission(
                        account_id, self.projects[self.issues[str(i)]["project_id"]]["key"], key)]
                    projects = [pid for pid in ask.get("projects", []) if str(pid) in self.projects and
                                self.has_permission(account_id, self.projects[str(pid)]["key"], key)]
                    grants.append({"permission": key, "issues": issues, "projects": projects})
        return Response(200, {"projectPermissions": grants, "globalPermissions": []})

    def _issue_get(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        fields = request.query.get("fields")
        wanted = {f for value in fields for f in value.split(",") if f} if fields else None
        properties = [k for value in request.query.get("properties", []) for k in value.split(",") if k]
        with self.lock:
            return Response(200, self.issue_json(issue, v3=v3, wanted=wanted, properties=properties))

    def _browsable_project(self, request: Request) -> dict[str, Any]:
        """The project of the path, as Jira answers for one the caller cannot browse: as if it did not exist."""
        with self.lock:
            project = self._project(request.params["projectIdOrKey"])
            if not self.has_permission(request.account_id, project["key"], "BROWSE_PROJECTS"):  # type: ignore
                raise HttpError(404, f"No project could be found with key '{request.params['projectIdOrKey']}'.")
            return project

    def _createmeta_types(self, request: Request, v3: bool) -> Response:
        project = self._browsable_project(request)
        self.create_screens.base = self.base
        allowed = self.has_permission(request.account_id, project["key"], "CREATE_ISSUES")  # type: ignore
        types = self.create_screens.issue_types_json() if allowed else []
        return Response(200, {"issueTypes" if self.cloud else "values": types, "startAt": 0,
                              "maxResults": 200, "total": len(types)})

    def _createmeta_fields(self, request: Request, v3: bool) -> Response:
        project = self._browsable_project(request)
        if request.params["issueTypeId"] not in self.issue_types:
            raise HttpError(404, "The issue type is not valid for this project.")
        self.create_screens.base = self.base
        fields = self.create_screens.fields_for(project["key"], request.params["issueTypeId"])
        return Response(200, {"fields" if self.cloud else "values": fields, "startAt": 0, "maxResults": 200,
                              "total": len(fields)})

    def _issue_create(self, request: Request, v3: bool) -> Response:
        fields = dict((request.json() or {}).get("fields") or {})
        project_ref = fields.pop("project", None) or {}
        with self.lock:
            project = next((pr for pr in self.projects.values() if str(project_ref.get("key") or project_ref.get(
                "id")) in (pr["id"], pr["key"])), None)
            if project is None or not self.has_permission(
                    request.account_id, project["key"], "BROWSE_PROJECTS"):  # type: ignore[attr-defined]
                return Response(400, {"errorMessages": [], "errors": {"project": "valid project is required"}})
        if not self.has_permission(request.account_id, project["key"], "CREATE_ISSUES"):  # type: ignore
            raise HttpError(403, "You do not have permission to create issues in this project.")
        type_ref = fields.pop("issuetype", None) or {}
        type_id = next((t["id"] for t in self.issue_types.values()
                        if str(type_ref.get("id")) == t["id"] or type_ref.get("name") == t["name"]), None)
        if type_id is None:
            return Response(400, {"errorMessages": [], "errors": {"issuetype": "Specify an issue type"}})
        errors = self.create_screens.validate(project["key"], type_id, fields)
        if errors:
            return Response(400, {"errorMessages": [], "errors": errors})
        priority = fields.pop("priority", None) or {}
        priority_name = priority.get("name") or self.priorities.get(str(priority.get("id")), "Medium")
        created = self.create_issue(
            project["key"], fields.pop("summary"), as_user=request.account_id,  # type: ignore[attr-defined]
            description=fields.pop("description", None), issue_type=self.issue_types[type_id]["name"],
            priority=priority_name, labels=fields.pop("labels", None),
            assignee=self._account_from_ref(fields.pop("assignee", None)),
            fields={k: v for k, v in fields.items() if k.startswith("customfield_")})
        return Response(201, {"id": created["id"], "key": created["key"], "self": created["self"]})

    def _issue_put(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        data = request.json() or {}
        with self._mutating():
            self._require(request, issue, "EDIT_ISSUES")
            changes = dict(data.get("fields") or {})
            for name, operations in (data.get("update") or {}).items():
                value = list(issue["fields"].get(name) or []) if name == "labels" else None
                for operation in operations:
                    if "set" in operation:
                        value = operation["set"]
                    elif "add" in operation and isinstance(value, list):
                        value.append(operation["add"])
                    elif "remove" in operation and isinstance(value, list):
                        value = [v for v in value if v != operation["remove"]]
                changes[name] = value
            if changes:
                self._edit(issue, changes, request.account_id)  # type: ignore[attr-defined]
        return Response(204)

    def _remotelinks(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        global_id = request.arg("globalId")
        links = [self._link_json(issue, link) for link in issue["remotelinks"]
                 if global_id in (None, link.get("globalId"))]
        if global_id is not None:
            if not links:
                raise HttpError(404, "No remote link with the given globalId exists.")
            return Response(200, links[0])
        return Response(200, links)

    def _link_json(self, issue: dict[str, Any], link: dict[str, Any]) -> dict[str, Any]:
        return {"id": link["id"], "self": f"{self.base}/rest/api/2/issue/{issue['key']}/remotelink/{link['id']}",
                **{k: v for k, v in link.items() if k != "id"}}

    def _remotelink_get(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        for link in issue["remotelinks"]:
            if str(link["id"]) == request.params["linkId"]:
                return Response(200, self._link_json(issue, link))
        raise HttpError(404, "No remote link with the given id exists.")

    def _remotelink_post(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        data = request.json() or {}
        if not (data.get("object") or {}).get("url") or not data["object"].get("title"):
            return Response(400, {"errorMessages": [], "errors": {"object": "url and title are required"}})
        with self.lock:
            self._require(request, issue, "LINK_ISSUES")
            stored = {k: data[k] for k in ("globalId", "application", "relationship", "object") if k in data}
            for link in issue["remotelinks"]:
                if data.get("globalId") and link.get("globalId") == data["globalId"]:
                    link_id = link["id"]
                    link.clear()
                    link.update(stored, id=link_id)
                    return Response(200, {"id": link_id, "self": self._link_json(issue, link)["self"]})
            link = {"id": int(self._next_id()), **stored}
            issue["remotelinks"].append(link)
            return Response(201, {"id": link["id"], "self": self._link_json(issue, link)["self"]})

    def _remotelink_delete(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        with self.lock:
            self._require(request, issue, "LINK_ISSUES")
            link_id, global_id = request.params.get("linkId"), request.arg("globalId")
            if link_id is None and global_id is None:
                raise HttpError(400, "The globalId query parameter is required.")
            keep = [link for link in issue["remotelinks"]
                    if not (str(link["id"]) == link_id or (global_id and link.get("globalId") == global_id))]
            if len(keep) == len(issue["remotelinks"]):
                raise HttpError(404, "No remote link found.")
            issue["remotelinks"] = keep
        return Response(204)

    def _property_keys(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        base = f"{self.base}/rest/api/2/issue/{issue['id']}/properties"
        return Response(200, {"keys": [{"self": f"{base}/{k}", "key": k} for k in issue["properties"]]})

    def _property_get(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        key = request.params["propertyKey"]
        if key not in issue["properties"]:
            raise HttpError(404, f"The property with key '{key}' does not exist.")
        return Response(200, {"key": key, "value": issue["properties"][key]})

    def _property_put(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        if len(request.body or b"") > PROPERTY_MAX_BYTES:
            raise HttpError(400, f"The property value is too long: the maximum is {PROPERTY_MAX_BYTES} bytes.")
        value = request.json()
        with self.lock:
            self._require(request, issue, "EDIT_ISSUES")
            created = request.params["propertyKey"] not in issue["properties"]
            issue["properties"][request.params["propertyKey"]] = value
        return Response(201 if created else 200)

    def _property_delete(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        with self.lock:
            if issue["properties"].pop(request.params["propertyKey"], None) is None:
                raise HttpError(404, "The property does not exist.")
        return Response(204)

    def _comments(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        start, size = int(request.arg("startAt") or 0), int(request.arg("maxResults") or 5000)
        expand = request.arg("expand") or ""
        with self.lock:
            stored = list(issue["comments"])
            if request.arg("orderBy") == "-created":
                stored.reverse()
            comments = [self.comment_json(issue, c, v3=v3) for c in stored]
            if "properties" in expand:
                for comment, raw in zip(comments, stored, strict=True):
                    comment["properties"] = [dict(p) for p in raw.get("properties") or []]
        return Response(200, {"startAt": start, "maxResults": size, "total": len(comments),
                              "comments": comments[start:start + size]})

    def _comment_get(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        with self.lock:
            return Response(200, self.comment_json(issue, self._comment(issue, request.params["id"]), v3=v3))

    def _comment_post(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        data = request.json() or {}
        self._require(request, issue, "ADD_COMMENTS")
        internal = any(prop.get("key") == "sd.public.comment" and (prop.get("value") or {}).get("internal")
                       for prop in data.get("properties", []))
        visibility = data.get("visibility")
        if visibility is not None and (not isinstance(visibility, dict) or visibility.get("type") not in
                                       ("role", "group") or not (visibility.get("value")
                                                                 or visibility.get("identifier"))):
            raise HttpError(400, "The visibility needs a type (role or group) and a value.")
        if visibility and visibility["type"] == "role" and visibility.get("value") not in self.roles:
            raise HttpError(400, f"The role {visibility.get('value')!r} does not exist in this project.")
        comment = self.add_comment(issue["key"], data.get("body"), as_user=request.account_id,  # type: ignore
                                   internal=internal, visibility=visibility)
        with self.lock:
            stored = self._comment(issue, comment["id"])
            stored["properties"] = [dict(p) for p in data.get("properties") or [] if isinstance(p, dict)]
            return Response(201, self.comment_json(issue, stored, v3=v3))

    def _comment_put(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        self.edit_comment(issue["key"], request.params["id"], (request.json() or {}).get("body"),
                          as_user=request.account_id)  # type: ignore[attr-defined]
        with self.lock:
            return Response(200, self.comment_json(issue, self._comment(issue, request.params["id"]), v3=v3))

    def _comment_delete(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        self.delete_comment(issue["key"], request.params["id"], as_user=request.account_id)  # type: ignore
        return Response(204)

    def _transitions_for(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": str(int(s["id"]) % 100 + 11), "name": s["name"],
                 "to": p.status_json(s, self.base), "hasScreen": False, "isGlobal": True, "isInitial": False,
                 "isAvailable": True, "isConditional": False, "isLooped": False}
                for s in self.statuses.values() if s["id"] != issue["fields"]["status_id"]]

    def _transitions(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        with self.lock:
            return Response(200, {"expand": "transitions", "transitions": self._transitions_for(issue)})

    def _transition_post(self, request: Request, v3: bool) -> Response:
        issue = self._visible_issue(request)
        wanted = str(((request.json() or {}).get("transition") or {}).get("id"))
        with self._mutating():
            self._require(request, issue, "TRANSITION_ISSUES")
            match = next((t for t in self._transitions_for(issue) if t["id"] == wanted), None)
            if match is None:
                raise HttpError(400, f"Transition id '{wanted}' is not valid for this issue.")
            self._apply_transition(issue, self.statuses[match["to"]["id"]], request.account_id)  # type: ignore
        return Response(204)

    def _search(self, request: Request) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        data = dict(request.json() or {}) if request.method == "POST" else {
            k: v[0] for k, v in request.query.items()}
        if isinstance(data.get("fields"), str):
            data["fields"] = [f for f in data["fields"].split(",") if f]
        try:
            predicate, order = compile_jql(data.get("jql", ""))
            with self.lock:
                views = [(self._jql_view(i), i) for i in self.issues.values() if self.has_permission(
                    request.account_id, self.projects[i["project_id"]]["key"], "BROWSE_PROJECTS")]  # type: ignore
            views = [pair for pair in views if predicate(pair[0])]
            for field, descending in reversed(order or [("key", True)]):
                by_field = sort_key(field)
                views.sort(key=lambda pair, by=by_field: by(pair[0]), reverse=descending)
            found = [issue for _, issue in views]
        except JqlError as exc:
            raise HttpError(400, str(exc)) from exc
        return found, data

    def _jql_view(self, issue: dict[str, Any]) -> dict[str, Any]:
        """What the JQL subset reads: resolved project, status and assignee."""
        raw = issue["fields"]
        project, status = self.projects[issue["project_id"]], self.statuses[raw["status_id"]]
        assignee = self.users.get(raw["assignee"])
        return {"id": issue["id"], "key": issue["key"], "old_keys": issue["old_keys"],
                "properties": issue["properties"],
                "fields": {"project": {"key": project["key"], "id": project["id"]},
                           "status": {"name": status["name"], "id": status["id"]}, "labels": raw["labels"],
                           "assignee": assignee and {"accountId": assignee["accountId"], "name": assignee["name"]},
                           "summary": raw["summary"], "description_text": p.adf_text(raw["description"]) or "",
                           "created": raw["created"], "updated": raw["updated"]}}

    def _search_jql(self, request: Request, v3: bool) -> Response:
        found, data = self._search(request)
        start = int(data.get("nextPageToken") or 0)
        size = min(int(data.get("maxResults") or 50), 5000)
        wanted = set(data.get("fields") or ["id"])  # the enhanced search returns only ids by default
        properties = data.get("properties") or []
        with self.lock:
            issues = [self.issue_json(i, v3=v3, wanted=wanted, properties=properties)
                      for i in found[start:start + size]]
        body: dict[str, Any] = {"issues": issues, "isLast": start + size >= len(found)}
        if not body["isLast"]:
            body["nextPageToken"] = str(start + size)
        return Response(200, body)

    def _search_paged(self, request: Request, v3: bool) -> Response:
        found, data = self._search(request)
        start, size = int(data.get("startAt") or 0), int(data.get("maxResults") or 50)
        wanted = set(data.get("fields") or ["*navigable"])
        with self.lock:
            issues = [self.issue_json(i, v3=v3, wanted=wanted) for i in found[start:start + size]]
        return Response(200, {"expand": "schema,names", "startAt": start, "maxResults": size,
                              "total": len(found), "issues": issues})

    def _webhook_json(self, hook: dict[str, Any]) -> dict[str, Any]:
        return {"self": f"{self.base}/rest/webhooks/1.0/webhook/{hook['id']}", "name": hook["name"],
                "url": hook["url"], "events": hook["events"], "enabled": hook["enabled"],
                "excludeBody": False, "filters": {}}

    def _webhook_register(self, request: Request) -> Response:
        data = request.json() or {}
        if not data.get("url"):
            raise HttpError(400, "url is required")
        hook = self.add_webhook(data["url"], secret=data.get("secret"), events=data.get("events"),
                                name=data.get("name", "webhook"))
        return Response(201, self._webhook_json(hook))

    def _webhook_delete(self, request: Request) -> Response:
        with self.lock:
            self.webhooks = [h for h in self.webhooks if str(h["id"]) != request.params["id"]]
        return Response(204)

    # ----- control plane
    def _add_controls(self) -> None:
        add = self.control.add
        add("GET", "/_sim/state", lambda r: Response(200, {
            "deployment": self.deployment, "app_user": self.app_user, "admin_user": self.admin_user,
            "projects": [{k: v for k, v in pr.items() if k != "counter"} for pr in self.projects.values()]}))
        add("POST", "/_sim/users", lambda r: Response(201, self.add_user(**r.json())))
        add("POST", "/_sim/projects", lambda r: Response(201, {
            k: v for k, v in self.add_project(**r.json()).items() if k != "counter"}))
        add("POST", "/_sim/permissions", lambda r: (self.set_permissions(**r.json()), Response(200, {}))[1])
        add("POST", "/_sim/create_screens/require", lambda r: (self.create_screens.require(**r.json()),
                                                               Response(200, {}))[1])
        add("POST", "/_sim/webhooks", lambda r: Response(201, self.add_webhook(**r.json())))
        add("POST", "/_sim/issues", lambda r: Response(201, self.create_issue(**r.json())))
        add("GET", "/_sim/issues/{key}", lambda r: Response(200, self.issue_json(self.issue(r.params["key"]))))
        add("POST", "/_sim/issues/{key}/transition", self._control(self.transition, "status_name"))
        add("POST", "/_sim/issues/{key}/assign", self._control(self.assign, "assignee"))
        add("POST", "/_sim/issues/{key}/edit", self._control(self.edit_fields, "changes"))
        add("POST", "/_sim/issues/{key}/comments", self._control(self.add_comment, "body"))
        add("POST", "/_sim/issues/{key}/comments/{id}/edit", self._control_comment(self.edit_comment, True))
        add("POST", "/_sim/issues/{key}/comments/{id}/delete", self._control_comment(self.delete_comment, False))
        add("POST", "/_sim/issues/{key}/delete", self._control(self.delete_issue, None))
        add("POST", "/_sim/issues/{key}/move", self._control(self.move_issue, "project_key"))
        add("GET", "/_sim/deliveries", lambda r: Response(200, [d.summary() for d in self.deliveries]))
        add("GET", "/_sim/issues/{key}/connector", self._control_connector_view)
        add("GET", "/_sim/rate", lambda r: Response(200, {"rate_limit": self.rate_limit, "throttled": self.throttled,
                                                           "max_calls_per_second": self.max_calls_per_second()}))
        add("POST", "/_sim/deliveries/{identifier}/redeliver", lambda r: Response(200, {
            "statuses": self.redeliver(r.params["identifier"], **(r.json() or {}))}))

    def _control_connector_view(self, request: Request) -> Response:
        """What the connector wrote on an issue (remote links, properties, the count field), for benchmarks that
        watch it without spending the REST rate limit."""
        with self.lock:
            issue = self.issue(request.params["key"])
            return Response(200, {"remotelinks": len(issue["remotelinks"]),
                                  "properties": copy.deepcopy(issue["properties"]),
                                  "count_field": issue["fields"].get(COUNT_FIELD)})

    def _control(self, method: Any, positional: str | None) -> Any:
        def handler(request: Request) -> Response:
            options = dict(request.json() or {})
            args = [request.params["key"]] + ([options.pop(positional)] if positional else [])
            result = method(*args, **options)
            return Response(200, result if isinstance(result, dict) else {"result": result})

        return handler

    def _control_comment(self, method: Any, with_body: bool) -> Any:
        def handler(request: Request) -> Response:
            options = dict(request.json() or {})
            args = [request.params["key"], request.params["id"]] + ([options.pop("body")] if with_body else [])
            method(*args, **options)
            return Response(200, {"ok": True})

        return handler


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, dict):
        return p.adf_text(value).strip() if value.get("type") == "doc" else json.dumps(value)
    return str(value)
