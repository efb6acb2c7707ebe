"""AuthorizationServer: Atlassian's OAuth 2.0 authorization code flow, served by a JiraSimulator.

On Cloud it plays auth.atlassian.com (`/authorize`, `/oauth/token`) and the identity endpoints of
api.atlassian.com (`/me`, `/oauth/token/accessible-resources`); the API gateway itself (`/ex/jira/<cloud id>/…`)
is the Jira simulator's. On Data Center it is the site's own provider (`/rest/oauth2/latest/authorize` and
`/token`). As documented: state is handed back untouched, PKCE (S256) is checked when a challenge was sent,
codes are single-use and bound to the client and redirect URI, refresh tokens rotate, `error=access_denied`
comes back when the user declines. The consent page is a plain form: email, password, Accept or Deny.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from sandbox.server import HttpError, Request, Response


class AuthorizationServer:
    def __init__(self, jira: Any, *, access_token_lifetime: float = 3600) -> None:
        self.jira = jira
        self.cloud = jira.cloud
        self.access_token_lifetime = access_token_lifetime
        self.clients: dict[str, dict[str, Any]] = {}
        self.passwords: dict[str, tuple[str, str]] = {}  # email -> (account id, password)
        self.codes: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.prefix = "" if self.cloud else "/rest/oauth2/latest"
        token_path = "/oauth/token" if self.cloud else f"{self.prefix}/token"
        routes = [("GET", f"{self.prefix}/authorize", self._authorize_page),
                  ("POST", f"{self.prefix}/authorize", self._authorize_decision),
                  ("POST", token_path, self._token)]
        if self.cloud:
            routes += [("GET", "/me", self._me), ("GET", "/oauth/token/accessible-resources", self._resources)]
        for method, path, handler in routes:
            jira.router.add(method, path, handler)
            jira.public_paths.add(path)

    # ----- set-up
    def add_client(self, client_id: str, secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = {"secret": secret, "redirect_uris": {redirect_uri}}

    def set_password(self, user: dict[str, Any], password: str) -> None:
        self.passwords[user["emailAddress"].lower()] = (user["accountId"], password)

    # ----- helpers
    @staticmethod
    def _html(status: int, body: str) -> Response:
        page = f"<!doctype html><html><body>{body}</body></html>".encode()
        return Response(status, page, {"Content-Type": "text/html; charset=utf-8"})

    @staticmethod
    def _redirect(uri: str, params: dict[str, str]) -> Response:
        return Response(302, b"", {"Location": f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"})

    @staticmethod
    def _form(request: Request) -> dict[str, str]:
        fields = {k: v[0] for k, v in request.query.items()}
        content_type = request.headers.get("Content-Type") or ""
        if "json" in content_type:
            body = request.json()
            fields.update({k: str(v) for k, v in (body or {}).items()} if isinstance(body, dict) else {})
        else:
            fields.update({k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()})
        return fields

    def _check_client(self, fields: dict[str, str]) -> dict[str, Any]:
        client = self.clients.get(fields.get("client_id", ""))
        if client is None or fields.get("redirect_uri") not in client["redirect_uris"]:
            raise HttpError(400, "Unknown client_id, or a redirect_uri that is not registered for it.")
        if fields.get("response_type") != "code":
            raise HttpError(400, "response_type must be code.")
        if self.cloud and fields.get("audience") != "api.atlassian.com":
            raise HttpError(400, "audience must be api.atlassian.com.")
        return client

    # ----- endpoints
    def _authorize_page(self, request: Request) -> Response:
        fields = {k: v[0] for k, v in request.query.items()}
        try:
            self._check_client(fields)
        except HttpError as exc:
            return self._html(400, f"<p>{html.escape(exc.message)}</p>")
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in fields.items())
        return self._html(200, f'<h1>Share your Jira account?</h1><form method="post">{hidden}'
                               '<label>Email <input name="email"></label>'
                               '<label>Password <input name="password" type="password"></label>'
                               '<button name="decision" value="accept">Accept</button>'
                               '<button name="decision" value="deny">Deny</button></form>')

    def _authorize_decision(self, request: Request) -> Response:
        fields = self._form(request)
        try:
            self._check_client(fields)
        except HttpError as exc:
            return self._html(400, f"<p>{html.escape(exc.message)}</p>")
        back = {"state": fields["state"]} if "state" in fields else {}
        if fields.get("decision") != "accept":
            return self._redirect(fields["redirect_uri"], {"error": "access_denied",
                                                           "error_description": "The user denied access.", **back})
        account = self.passwords.get(fields.get("email", "").lower())
        if account is None or not secrets.compare_digest(account[1], fields.get("password", "")):
            return self._html(401, "<p>Wrong email or password.</p>")
        code = secrets.token_urlsafe(24)
        with self.jira.lock:
            self.codes[code] = {"client_id": fields["client_id"], "redirect_uri": fields["redirect_uri"],
                                "account_id": account[0], "scope": fields.get("scope", ""),
                                "challenge": fields.get("code_challenge"), "expires": time.time() + 600}
        return self._redirect(fields["redirect_uri"], {"code": code, **back})

    def _token_error(self, status: int, error: str, description: str) -> Response:
        return Response(status, {"error": error, "error_description": description})

    def _token(self, request: Request) -> Response:
        fields = self._form(request)
        client = self.clients.get(fields.get("client_id", ""))
        if client is None or not secrets.compare_digest(client["secret"], fields.get("client_secret", "")):
            return self._token_error(401, "invalid_client", "Unknown client or wrong client secret.")
        grant = fields.get("grant_type")
        with self.jira.lock:
            if grant == "authorization_code":
                found = self.codes.pop(fields.get("code", ""), None)  # single use, even when refused below
                if found is None or found["expires"] < time.time() or found["client_id"] != fields["client_id"]:
                    return self._token_error(403, "invalid_grant", "Invalid authorization code.")
                if found["redirect_uri"] != fields.get("redirect_uri"):
                    return self._token_error(403, "invalid_grant", "redirect_uri does not match the authorization.")
                if found["challenge"]:
                    digest = hashlib.sha256(fields.get("code_verifier", "").encode()).digest()
                    if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != found["challenge"]:
                        return self._token_error(403, "invalid_grant", "code_verifier does not match the challenge.")
                account_id, scope = found["account_id"], found["scope"]
            elif grant == "refresh_token":
                found = self.refresh_tokens.pop(fields.get("refresh_token", ""), None)  # rotating: used once
                if found is None or found["client_id"] != fields["client_id"]:
                    return self._token_error(403, "invalid_grant", "Unknown or expired refresh token.")
                account_id, scope = found["account_id"], found["scope"]
            else:
                return self._token_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported.")
            body: dict[str, Any] = {
                "access_token": self.jira.issue_oauth_token(account_id, lifetime=self.access_token_lifetime),
                "token_type": "Bearer",
                "expires_in": int(self.access_token_lifetime),
                "scope": scope,
            }
            if not self.cloud or "offline_access" in scope.split():
                refresh = secrets.token_urlsafe(32)
                self.refresh_tokens[refresh] = {"client_id": fields["client_id"], "account_id": account_id,
                                                "scope": scope}
                body["refresh_token"] = refresh
        return Response(200, body)

    def _bearer_account(self, request: Request) -> str:
        header = request.headers.get("Authorization") or ""
        account = self.jira.oauth_account(header[7:]) if header.startswith("Bearer ") else None
        if account is None:
            raise HttpError(401, "Unauthorized")
        return account

    def _me(self, request: Request) -> Response:
        user = self.jira.users[self._bearer_account(request)]
        return Response(200, {"account_id": user["accountId"], "email": user["emailAddress"],
                              "name": user["displayName"], "account_status": "active", "email_verified": True,
                              "account_type": user["accountType"], "picture": "", "nickname": user["name"]})

    def _resources(self, request: Request) -> Response:
        self._bearer_account(request)
        return Response(200, [{"id": self.jira.cloud_id, "url": self.jira.url, "name": "Jira sandbox",
                               "scopes": ["read:jira-work", "read:jira-user"], "avatarUrl": ""}])
