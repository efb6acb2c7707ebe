"""The one place that talks to Jira, through atlassian-python-api (Cloud REST v3, Data Center REST v2).

Every method returns plain JSON values and raises only VendorError, classified so callers decide without
knowing HTTP: 401/403 mean the app user lost access (hold work, tell admins), 429 carries `retry_at`, 5xx
and unreachable hosts are transient, a timeout after a write was sent is ambiguous.

The library's own sleeping retries are off (a worker must not sleep for a Retry-After of minutes), and its
DEBUG logging, which prints request headers and bodies (tokens, webhook secrets), is filtered out here.
"""

import logging
from collections.abc import Callable, Mapping
from typing import Any

import requests
from atlassian import Jira
from urllib3.exceptions import NewConnectionError

from connector.errors import VendorError, VendorErrorKind, error_for_status, error_for_transport
from connector.url_safety import GuardedAdapter, UnsafeURL

CLOUD = "cloud"
DATACENTER = "datacenter"


class _NoDebugFromLibrary(logging.Filter):
    """atlassian.rest_client logs curl lines with the Authorization header at DEBUG: never let them out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


logging.getLogger("atlassian.rest_client").addFilter(_NoDebugFromLibrary())


def _error_message(response: requests.Response, fallback: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return fallback
    if isinstance(body, dict):
        messages = [str(m) for m in body.get("errorMessages") or [] if m]
        errors = body.get("errors")
        if isinstance(errors, dict):
            messages += [f"{field}: {text}" for field, text in errors.items()]
        if body.get("message"):
            messages.append(str(body["message"]))
        if messages:
            return "; ".join(messages)[:500]
    return fallback


def _field_errors(response: requests.Response) -> dict[str, str]:
    """Jira's `errors: {field id: message}` of a refused write (ErrorCollection), or {}."""
    try:
        body = response.json()
    except ValueError:
        return {}
    errors = body.get("errors") if isinstance(body, dict) else None
    return {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}


def avatar_url(user: dict) -> str:
    """The 48x48 avatar of a Jira user (as /myself describes it), else any size it has, else ""."""
    urls = user.get("avatarUrls") or {}
    return urls.get("48x48") or (next(iter(urls.values()), "") if urls else "")


class JiraClient:
    """Calls Jira as the site's app user: Cloud with email + API token, Data Center with a personal token."""

    def __init__(
        self,
        *,
        base_url: str,
        deployment: str,
        email: str = "",
        token: str = "",
        timeout: float = 10.0,
        bearer: bool = False,
    ):
        if deployment not in (CLOUD, DATACENTER):
            raise ValueError("deployment is 'cloud' or 'datacenter'")
        self.base_url = base_url.rstrip("/")
        self.deployment = deployment
        self.cloud = deployment == CLOUD
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment
        guarded = GuardedAdapter(pool_maxsize=20)
        session.mount("https://", guarded)
        session.mount("http://", guarded)
        options: dict[str, Any] = {
            "url": self.base_url,
            "session": session,
            "api_version": "3" if self.cloud else "2",
            "retry_with_header": False,
            "timeout": max(1, int(timeout)),
        }
        if bearer:  # an OAuth 2.0 access token: the calls are made as the user who signed in
            self._jira = Jira(token=token, cloud=self.cloud, **options)
        elif self.cloud:
            self._jira = Jira(username=email, password=token, cloud=True, **options)
        else:
            self._jira = Jira(token=token, **options)
        self._jira.timeout = timeout  # the library truncates to whole seconds; requests takes floats
        # Pacing hooks (linking's Jira writes): called before every request, and with every answer's status and
        # headers (X-RateLimit-*, Retry-After), so a limiter shared by all workers learns Jira's pace.
        self.before_request: Callable[[], None] | None = None
        self.on_response: Callable[[int, Mapping[str, str]], None] | None = None

    @classmethod
    def for_site(cls, site, *, timeout: float | None = None) -> "JiraClient":
        from django.conf import settings

        return cls(
            base_url=site.base_url,
            deployment=site.deployment,
            email=site.account_email,
            token=site.api_token,
            timeout=timeout or settings.VENDOR_TIMEOUT_SECONDS,
        )

    @classmethod
    def as_user(cls, *, base_url: str, deployment: str, access_token: str) -> "JiraClient":
        """Calls made as a user with their own OAuth 2.0 access token (Sign in with Atlassian, or the user token
        Forge forwards). On Cloud `base_url` is Atlassian's API gateway for the site (…/ex/jira/<cloud id>)."""
        from django.conf import settings

        return cls(
            base_url=base_url,
            deployment=deployment,
            token=access_token,
            timeout=settings.VENDOR_TIMEOUT_SECONDS,
            bearer=True,
        )

    # --- plumbing -----------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict | None = None,
        json: Any = None,
        api: bool = True,
        ok_missing: bool = False,
    ) -> Any:
        """One call; `path` is relative to the REST API root unless api=False. 404 → None if ok_missing."""
        url = self._jira.resource_url(path) if api else path.lstrip("/")
        if self.before_request:
            self.before_request()
        try:
            response = self._jira.request(method, url, params=params, json=json, advanced_mode=True)
        except UnsafeURL as exc:
            raise VendorError(str(exc.message), kind=VendorErrorKind.PERMANENT) from None
        except requests.RequestException as exc:
            raise self._transport_error(exc, method, what) from None
        status = response.status_code
        if self.on_response:
            self.on_response(status, response.headers)
        if status == 404 and ok_missing:
            return None
        if status >= 400:
            message = _error_message(response, f"Jira refused to {what}")
            raise error_for_status(status, message, headers=response.headers, field_errors=_field_errors(response))
        if 300 <= status < 400:
            raise VendorError(
                f"Jira redirected instead of answering ({status}); check the base URL",
                kind=VendorErrorKind.PERMANENT,
                status=status,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise VendorError(
                f"Jira answered with something that is not JSON when asked to {what}; is the base URL right?",
                kind=VendorErrorKind.PERMANENT,
                status=status,
            ) from None

    def _transport_error(self, exc: requests.RequestException, method: str, what: str) -> VendorError:
        """Before sending (refused, unresolvable, connect timeout) a retry is safe; after it, a write may
        have been applied, so it is ambiguous."""
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        before_sending = isinstance(exc, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)
        return error_for_transport(
            sent=not before_sending,
            unreachable=f"Jira at {self.base_url} cannot be reached ({type(exc).__name__})",
            no_answer=f"No answer from Jira when asked to {what} ({type(exc).__name__})",
            safe_to_repeat=method == "GET",
        )

    # --- reads ----------------------------------------------------------------------------------------------

    def myself(self) -> dict:
        """The app user. Data Center has no accountId; its user key stands in for it."""
        user = self._request("GET", "myself", "identify the app user")
        if not self.cloud and not user.get("accountId"):
            user["accountId"] = user.get("key") or user.get("name") or ""
        return user

    def server_info(self) -> dict:
        return self._request("GET", "serverInfo", "describe the server")

    def instance_id(self) -> str:
        """What tells this Jira from any other: Cloud's cloud id (a site keeps it when renamed), Data Center's
        server title (its serverInfo offers nothing more stable; the base URL changes with a move)."""
        if self.cloud:
            body = self._request("GET", "/_edge/tenant_info", "identify the site", api=False) or {}
            return str(body.get("cloudId") or "")
        return str((self.server_info() or {}).get("serverTitle") or "")

    def projects(self) -> list[dict]:
        """Projects the app user can browse. Data Center has no paged search, only the plain list."""
        found: list[dict] = []
        start = 0
        while True:
            page = self._request(
                "GET", "project/search", "list projects", params={"startAt": start, "maxResults": 50}, ok_missing=True
            )
            if page is None:
                return self._request("GET", "project", "list projects") or []
            values = page.get("values") or []
            found.extend(values)
            if page.get("isLast", True) or not values:
                return found
            start += len(values)

    def project(self, id_or_key: str) -> dict:
        return self._request("GET", f"project/{id_or_key}", "read the project")

    def my_permissions(self, project_key: str, keys: list[str]) -> dict[str, bool]:
        params = {"permissions": ",".join(keys)}
        if project_key:
            params["projectKey"] = project_key
        body = self._request("GET", "mypermissions", "read the app user's permissions", params=params)
        permissions = (body or {}).get("permissions") or {}
        return {key: bool((permissions.get(key) or {}).get("havePermission")) for key in keys}

    def can_browse(self, account_id: str, issue_ids: list[str]) -> set[str]:
        """Which of the issues `account_id` may see (POST permissions/check)."""
        if not issue_ids:
            return set()
        body = self._request(
            "POST",
            "permissions/check",
            "check permissions",
            json={
                "accountId": account_id,
                "projectPermissions": [
                    {"permissions": ["BROWSE_PROJECTS"], "issues": [int(i) for i in issue_ids if str(i).isdigit()]}
                ],
            },
        )
        granted: set[str] = set()
        for grant in (body or {}).get("projectPermissions") or []:
            if grant.get("permission") == "BROWSE_PROJECTS":
                granted.update(str(i) for i in grant.get("issues") or [])
        return granted

    def may_browse(self, issue_id: str) -> bool:
        """Whether the calling user may see this issue (their own permissions: no admin rights needed)."""
        body = self._request(
            "GET",
            "mypermissions",
            "read your permissions on the issue",
            params={"issueId": issue_id, "permissions": "BROWSE_PROJECTS"},
            ok_missing=True,  # Jira answers 404 for an issue the caller may not see
        )
        permission = ((body or {}).get("permissions") or {}).get("BROWSE_PROJECTS") or {}
        return bool(permission.get("havePermission"))

    def browsable_as_caller(self, issue_ids: list[str]) -> set[str]:
        """Which of the issues the calling user may see. Cloud checks them in one call (its bulk check needs no
        admin rights for the caller's own permissions); Data Center has only the per-issue check."""
        ids = [str(i) for i in issue_ids if str(i).isdigit()]
        if not ids:
            return set()
        if not self.cloud:
            return {issue_id for issue_id in ids if self.may_browse(issue_id)}
        body = self._request(
            "POST",
            "permissions/check",
            "check your permissions",
            json={"projectPermissions": [{"permissions": ["BROWSE_PROJECTS"], "issues": [int(i) for i in ids]}]},
        )
        granted: set[str] = set()
        for grant in (body or {}).get("projectPermissions") or []:
            if grant.get("permission") == "BROWSE_PROJECTS":
                granted.update(str(i) for i in grant.get("issues") or [])
        return granted

    def issue(self, id_or_key: str, *, fields: str = "*all") -> dict:
        return self._request("GET", f"issue/{id_or_key}", "read the issue", params={"fields": fields})

    def search(
        self, jql: str, *, fields: list[str], page_token: str | None = None, max_results: int = 100
    ) -> tuple[list[dict], str | None]:
        """One page of issues and the token of the next page (None on the last page)."""
        if self.cloud:
            payload: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": max_results}
            if page_token:
                payload["nextPageToken"] = page_token
            body = self._request("POST", "search/jql", "search issues", json=payload) or {}
            issues = body.get("issues") or []
            return issues, None if body.get("isLast", True) else body.get("nextPageToken")
        start = int(page_token or 0)
        body = (
            self._request(
                "POST",
                "search",
                "search issues",
                json={"jql": jql, "fields": fields, "startAt": start, "maxResults": max_results},
            )
            or {}
        )
        issues = body.get("issues") or []
        following = start + len(issues)
        return issues, str(following) if issues and following < int(body.get("total") or 0) else None

    def fields(self) -> list[dict]:
        return self._request("GET", "field", "list fields") or []

    def create_number_field(self, name: str, description: str = "") -> dict:
        """A number custom field searchable in JQL (needs Administer Jira)."""
        return self._request("POST", "field", "create a custom field", json={
            "name": name, "description": description,
            "type": "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:exactnumber",
        }) or {}

    def add_field_to_default_screen(self, field_id: str) -> None:
        self._request("POST", f"screens/addToDefault/{field_id}", "add the field to the default screen")

    def project_statuses(self, project_key: str) -> list[dict]:
        """Per issue type of the project, the statuses its workflow has."""
        return self._request("GET", f"project/{project_key}/statuses", "list the project's statuses") or []

    def priorities(self) -> list[dict]:
        return self._request("GET", "priority", "list priorities") or []

    def create_meta_issue_types(self, project_id_or_key: str) -> list[dict]:
        """The issue types the app user may create in the project (Cloud answers `issueTypes`, DC `values`)."""
        body = self._request(
            "GET", f"issue/createmeta/{project_id_or_key}/issuetypes", "list the project's issue types",
            params={"maxResults": 200},
        ) or {}
        return list(body.get("issueTypes") or body.get("values") or [])

    def create_meta_fields(self, project_id_or_key: str, issue_type_id: str) -> list[dict]:
        """The fields of the create screen for one issue type (Cloud answers `fields`, DC `values`)."""
        body = self._request(
            "GET", f"issue/createmeta/{project_id_or_key}/issuetypes/{issue_type_id}", "read the create screen",
            params={"maxResults": 200},
        ) or {}
        return list(body.get("fields") or body.get("values") or [])

    def get_property(self, issue_id: str, key: str) -> object | None:
        body = self._request("GET", f"issue/{issue_id}/properties/{key}", "read an issue property", ok_missing=True)
        return None if body is None else body.get("value")

    # --- writes ---------------------------------------------------------------------------------------------

    def create_issue(self, fields: dict) -> dict:
        """A new issue ({"id", "key", "self"}); Jira's refusal keeps its per-field messages in `field_errors`."""
        return self._request("POST", "issue", "create the issue", json={"fields": fields})

    def set_field(self, issue_id: str, field_id: str, value) -> None:
        self._request("PUT", f"issue/{issue_id}", "edit the issue", json={"fields": {field_id: value}})

    def set_property(self, issue_id: str, key: str, value) -> None:
        self._request("PUT", f"issue/{issue_id}/properties/{key}", "set an issue property", json=value)

    def delete_property(self, issue_id: str, key: str) -> None:
        self._request("DELETE", f"issue/{issue_id}/properties/{key}", "delete an issue property", ok_missing=True)

    def upsert_remote_link(
        self,
        issue_id: str,
        *,
        global_id: str,
        url: str,
        title: str,
        summary: str = "",
        resolved: bool = False,
        icon_url: str = "",
    ) -> None:
        """Create or update (same globalId) a remote link shown on the issue."""
        obj: dict[str, Any] = {"url": url, "title": title, "status": {"resolved": resolved}}
        if summary:
            obj["summary"] = summary
        if icon_url:
            obj["icon"] = {"url16x16": icon_url, "title": "Intercom"}
        payload = {
            "globalId": global_id,
            "application": {"type": "com.intercom", "name": "Intercom"},
            "relationship": "Intercom conversation",
            "object": obj,
        }
        self._request("POST", f"issue/{issue_id}/remotelink", "link the conversation", json=payload)

    def delete_remote_link(self, issue_id: str, *, global_id: str) -> None:
        self._request(
            "DELETE",
            f"issue/{issue_id}/remotelink",
            "remove the remote link",
            params={"globalId": global_id},
            ok_missing=True,
        )

    def add_comment(self, issue_id: str, body) -> dict:
        """`body`: wiki text (Data Center), an ADF document (Cloud), or a full comment payload with "body"
        (to add `visibility` or `properties`)."""
        payload = body if isinstance(body, dict) and "body" in body else {"body": body}
        if self.cloud and isinstance(payload["body"], str):
            payload = {**payload, "body": _adf_text(payload["body"])}
        return self._request("POST", f"issue/{issue_id}/comment", "add a comment", json=payload)

    def recent_comments(self, issue_id: str, *, limit: int = 50) -> list[dict]:
        """The issue's latest comments, newest first, with their properties (to find one we may have posted)."""
        result = self._request(
            "GET", f"issue/{issue_id}/comment", "read the comments",
            params={"orderBy": "-created", "maxResults": limit, "expand": "properties"},
        )
        return (result or {}).get("comments", [])

    def register_webhook(self, *, url: str, events: list[str], secret: str, jql: str = "") -> dict:
        """An admin webhook (needs the Administer Jira global permission) signed with `secret`."""
        payload: dict[str, Any] = {
            "name": "Intercom connector",
            "url": url,
            "events": events,
            "excludeBody": False,
            "secret": secret,
        }
        if jql:
            payload["filters"] = {"issue-related-events-section": jql}
        return self._request("POST", "rest/webhooks/1.0/webhook", "register the webhook", json=payload, api=False)


def _adf_text(text: str) -> dict:
    paragraphs = [p for p in text.split("\n\n") if p] or [""]
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": p}] if p else []} for p in paragraphs],
    }
