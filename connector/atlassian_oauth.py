"""Sign in with Atlassian: the OAuth 2.0 authorization code flow (with PKCE) against a Jira site's provider.

Jira Cloud uses Atlassian's authorization server (3LO: ATLASSIAN_AUTH_URL `/authorize`, `/oauth/token`) and its
API gateway (ATLASSIAN_API_URL: `/me`, `/oauth/token/accessible-resources`, `/ex/jira/<cloud id>/…`); Jira Data
Center is its own provider (`<base>/rest/oauth2/latest/authorize` and `/token`) and API. Every failure is an
OAuthError whose message names the cause and what to do.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.utils import timezone

from connector.errors import VendorError
from connector.jira_client import JiraClient
from connector.models import JiraSite
from connector.url_safety import GuardedAdapter, UnsafeURL

# Cloud: read the issues and the user's own permissions, know who they are, and keep access (refresh token).
CLOUD_SCOPES = "read:jira-work read:jira-user read:me offline_access"
DATACENTER_SCOPES = "READ"


class OAuthError(Exception):
    """The sign-in cannot go on; the message is for the person signing in (or the admin), never a secret.
    `status`: 400 when what came back was refused, 502 when Atlassian could not be asked."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime | None


@dataclass(frozen=True)
class Identity:
    account_id: str
    email: str
    name: str
    api_base_url: str  # where this token reaches the site's REST API


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _cloud(site: JiraSite) -> bool:
    return site.deployment == JiraSite.Deployment.CLOUD


def _provider(site: JiraSite) -> str:
    return settings.ATLASSIAN_AUTH_URL if _cloud(site) else site.base_url.rstrip("/") + "/rest/oauth2/latest"


def authorize_url(site: JiraSite, *, redirect_uri: str, state: str, code_challenge: str) -> str:
    params = {
        "client_id": site.oauth_client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if _cloud(site):
        params.update(audience="api.atlassian.com", scope=CLOUD_SCOPES, prompt="consent")
    else:
        params.update(scope=DATACENTER_SCOPES)
    return f"{_provider(site)}/authorize?{urlencode(params)}"


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", GuardedAdapter())
    session.mount("http://", GuardedAdapter())
    return session


def _token_call(site: JiraSite, fields: dict) -> Tokens:
    body = {"client_id": site.oauth_client_id, "client_secret": site.oauth_client_secret, **fields}
    url = f"{_provider(site)}/token" if not _cloud(site) else f"{_provider(site)}/oauth/token"
    with _session() as session:
        try:
            if _cloud(site):
                response = session.post(url, json=body, timeout=settings.VENDOR_TIMEOUT_SECONDS)
            else:
                response = session.post(url, data=body, timeout=settings.VENDOR_TIMEOUT_SECONDS)
        except (requests.RequestException, UnsafeURL) as exc:
            raise OAuthError(f"Atlassian's sign-in service could not be reached ({type(exc).__name__}). "
                             "Try again in a minute.", status=502) from None
    answer = _json(response)
    if response.status_code >= 400 or not answer.get("access_token"):
        reason = answer.get("error_description") or answer.get("error") or f"HTTP {response.status_code}"
        if answer.get("error") == "invalid_client" or response.status_code == 401:
            raise OAuthError(f"Jira refused this service's OAuth client ({reason}). An admin checks the client id "
                             f"and secret under Sign in with Atlassian for {site.name}.")
        raise OAuthError(f"Jira did not accept the sign-in ({reason}). Start again from the sign-in page.")
    expires_in = answer.get("expires_in")
    expires_at = timezone.now() + timedelta(seconds=int(expires_in)) if str(expires_in or "").isdigit() else None
    return Tokens(str(answer["access_token"]), str(answer.get("refresh_token") or ""), expires_at)


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def code_exchange(site: JiraSite, *, code: str, redirect_uri: str, code_verifier: str) -> Tokens:
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return _token_call(site, {**fields, "code_verifier": code_verifier})


def token_refresh(site: JiraSite, refresh_token: str) -> Tokens:
    return _token_call(site, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def identity(site: JiraSite, access_token: str) -> Identity:
    """Who the token belongs to, and where it reaches this very site (never another one)."""
    if not _cloud(site):
        client = JiraClient.as_user(base_url=site.base_url, deployment=site.deployment, access_token=access_token)
        try:
            me = client.myself()
        except VendorError as exc:
            status = 502 if exc.unreachable else 400
            raise OAuthError(f"Jira did not say who signed in ({exc}). Start again from the sign-in page.",
                             status=status) from None
        return Identity(str(me.get("accountId") or ""), str(me.get("emailAddress") or ""),
                        str(me.get("displayName") or ""), site.base_url.rstrip("/"))
    me = _gateway_get("/me", access_token)
    resources = _gateway_get("/oauth/token/accessible-resources", access_token)
    base = site.base_url.rstrip("/")
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, dict):
            continue
        same_cloud = site.jira_instance_id and resource.get("id") == site.jira_instance_id
        if same_cloud or str(resource.get("url") or "").rstrip("/") == base:
            api = f"{settings.ATLASSIAN_API_URL}/ex/jira/{resource['id']}"
            return Identity(str(me.get("account_id") or ""), str(me.get("email") or ""), str(me.get("name") or ""), api)
    raise OAuthError(f"Your Atlassian account gave this service no access to {site.name} ({base}). Sign in again "
                     "and choose that site when Atlassian asks which site to share.")


def _gateway_get(path: str, access_token: str):
    with _session() as session:
        try:
            response = session.get(
                settings.ATLASSIAN_API_URL + path,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                timeout=settings.VENDOR_TIMEOUT_SECONDS,
            )
        except (requests.RequestException, UnsafeURL) as exc:
            raise OAuthError(
                f"Atlassian could not be reached ({type(exc).__name__}). Try again in a minute.", status=502
            ) from None
    if response.status_code >= 400:
        raise OAuthError(f"Atlassian refused to say who signed in (HTTP {response.status_code}). Start again.")
    try:
        return response.json()
    except ValueError:
        raise OAuthError("Atlassian answered with something that is not JSON. Try again later.", status=502) from None
