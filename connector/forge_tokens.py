"""Forge Invocation Tokens (FIT): the JWT Atlassian puts on every Forge Remote call, checked against its JWKS.

RS256 only, issuer `forge/invocation-token`, audience the app's id (FORGE_APP_ID), expiry and not-before with a
few seconds of leeway. The published keys are cached per process for FORGE_JWKS_CACHE_SECONDS; a token naming a
key we do not hold makes us fetch them again, at most once per FORGE_JWKS_REFRESH_SECONDS, because anyone can
write a made-up `kid` and must not make every request fetch the keys.
"""

import threading
import time
from dataclasses import dataclass

import jwt
import requests
from django.conf import settings

from connector.url_safety import GuardedAdapter, UnsafeURL

ISSUER = "forge/invocation-token"
APP_ARI_PREFIX = "ari:cloud:ecosystem::app/"
LEEWAY_SECONDS = 10


class InvalidInvocation(Exception):
    """The call's token is not one we accept; the message says why and names no secret."""


class KeysUnavailable(Exception):
    """Atlassian's published keys could not be fetched, and none are cached."""


@dataclass(frozen=True)
class Invocation:
    """What a verified token says: who is looking at which issue, on which site, through which app."""

    account_id: str  # the token's principal: the Jira user viewing the issue
    cloud_id: str
    site_url: str
    issue_id: str
    issue_key: str
    project_id: str
    project_key: str
    api_base_url: str  # where the forwarded user token may be used (Atlassian's API gateway for this site)


def app_audience(app_id: str) -> str:
    """The audience a token for this app carries: its ARI, whether the setting holds the ARI or the bare uuid."""
    app_id = app_id.strip()
    return app_id if app_id.startswith(APP_ARI_PREFIX) else APP_ARI_PREFIX + app_id


class KeySet:
    """Atlassian's signing keys by `kid`, fetched from one URL and kept for a while."""

    def __init__(self, url: str):
        self.url = url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > settings.FORGE_JWKS_CACHE_SECONDS or (
                kid not in self._keys and age >= settings.FORGE_JWKS_REFRESH_SECONDS
            ):
                self._fetch()
            found = self._keys.get(kid)
        if found is None:
            raise InvalidInvocation("The token is signed with a key Atlassian does not publish.")
        return found

    def _fetch(self) -> None:
        session = requests.Session()
        session.trust_env = False
        session.mount("https://", GuardedAdapter())
        session.mount("http://", GuardedAdapter())
        try:
            response = session.get(self.url, timeout=settings.VENDOR_TIMEOUT_SECONDS)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (requests.RequestException, ValueError, UnsafeURL, jwt.PyJWKSetError) as exc:
            if not self._keys:
                raise KeysUnavailable(f"Atlassian's token keys could not be fetched from {self.url}: {exc}") from None
            return  # keep the keys we have; try again after the refresh interval
        finally:
            session.close()
        self._fetched_at = time.monotonic()
        self._keys = {k.key_id: k for k in keys if k.key_id}


_key_sets: dict[str, KeySet] = {}
_key_sets_lock = threading.Lock()


def key_set(url: str | None = None) -> KeySet:
    url = url or settings.FORGE_JWKS_URL
    with _key_sets_lock:
        return _key_sets.setdefault(url, KeySet(url))


def _text(value) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def invocation_verify(token: str) -> Invocation:
    """The verified call, or InvalidInvocation (KeysUnavailable when the keys cannot be had at all)."""
    if not settings.FORGE_APP_ID:
        raise InvalidInvocation("This service accepts no Forge calls: its FORGE_APP_ID setting is empty.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidInvocation("The Authorization header does not carry a Forge Invocation Token.") from None
    if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
        raise InvalidInvocation("The token is not signed the way Atlassian signs invocation tokens (RS256, kid).")
    key = key_set().key(header["kid"])
    audience = app_audience(settings.FORGE_APP_ID)
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidInvocation("The token has expired.") from None
    except jwt.InvalidAudienceError:
        raise InvalidInvocation("The token was issued for another Forge app than FORGE_APP_ID.") from None
    except jwt.InvalidIssuerError:
        raise InvalidInvocation("The token was not issued by Forge.") from None
    except jwt.InvalidSignatureError:
        raise InvalidInvocation("The token's signature does not match its content.") from None
    except jwt.PyJWTError as exc:
        raise InvalidInvocation(f"The token is not valid: {exc}.") from None
    return _invocation(claims)


def _invocation(claims: dict) -> Invocation:
    app = claims.get("app") if isinstance(claims.get("app"), dict) else {}
    context = claims.get("context") if isinstance(claims.get("context"), dict) else {}
    extension = context.get("extension") if isinstance(context.get("extension"), dict) else {}
    issue = extension.get("issue") if isinstance(extension.get("issue"), dict) else {}
    project = extension.get("project") if isinstance(extension.get("project"), dict) else {}
    invocation = Invocation(
        account_id=_text(claims.get("principal")),
        cloud_id=_text(context.get("cloudId")),
        site_url=_text(context.get("siteUrl")),
        issue_id=_text(issue.get("id")),
        issue_key=_text(issue.get("key")),
        project_id=_text(project.get("id")),
        project_key=_text(project.get("key")),
        api_base_url=_text(app.get("apiBaseUrl")),
    )
    if not invocation.account_id:
        raise InvalidInvocation("The token names no user: the panel is only for signed-in Jira users.")
    if not invocation.issue_id or not invocation.cloud_id:
        raise InvalidInvocation("The token was not issued for a Jira issue (no issue or site in its context).")
    return invocation
