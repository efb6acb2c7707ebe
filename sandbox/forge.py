"""ForgeSimulator: Atlassian's side of Forge Remote, for tests and the demo.

It publishes a JWKS (`/.well-known/jwks.json`, like forge.cdn.prod.atlassian-dev.net) and signs Forge
Invocation Tokens (RS256, issuer `forge/invocation-token`, audience the app's ARI) the way Forge does for every
`invokeRemote` call of an issue panel; `invoke` makes such a call to a remote, with the token and, when asked,
the user token Forge forwards in `x-forge-oauth-user`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox.server import Request, Response, SimServer

ISSUER = "forge/invocation-token"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class ForgeSimulator(SimServer):
    spec_name = None

    def __init__(self, *, app_uuid: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.app_id = f"ari:cloud:ecosystem::app/{app_uuid or uuid.uuid4()}"
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.jwks_fetches = 0
        self.kid = self.rotate()
        self.router.add("GET", "/.well-known/jwks.json", self._jwks)

    def rotate(self) -> str:
        """Publish a new signing key (the old ones stay published) and sign with it from now on."""
        kid = f"forge/invocation-token/{uuid.uuid4()}"
        with self.lock:
            self.keys[kid] = new_key()
            self.kid = kid
        return kid

    def _jwks(self, request: Request) -> Response:
        with self.lock:
            self.jwks_fetches += 1
            keys = []
            for kid, key in self.keys.items():
                jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
                keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return Response(200, {"keys": keys})

    def claims(
        self,
        *,
        account_id: str,
        issue: dict[str, Any],
        project: dict[str, Any],
        cloud_id: str,
        site_url: str,
        api_base_url: str,
        lifetime: int = 60,
        module_key: str = "intercom-conversations-panel",
    ) -> dict[str, Any]:
        """The claims of an invocation from an issue panel, shaped like the documented FIT."""
        now = int(time.time())
        return {
            "iss": ISSUER,
            "aud": self.app_id,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "principal": account_id,
            "app": {
                "id": self.app_id,
                "installationId": f"ari:cloud:ecosystem::installation/{uuid.uuid4()}",
                "apiBaseUrl": api_base_url,
                "environment": {"type": "DEVELOPMENT", "id": f"ari:cloud:ecosystem::environment/{uuid.uuid4()}"},
                "module": {"type": "xen:macro", "key": module_key},
            },
            "context": {
                "cloudId": cloud_id,
                "moduleKey": module_key,
                "siteUrl": site_url,
                "extension": {
                    "type": "jira:issuePanel",
                    "issue": {"id": str(issue["id"]), "key": issue["key"], "type": "Task"},
                    "project": {"id": str(project["id"]), "key": project["key"], "type": "software"},
                },
            },
        }

    def sign(self, claims: dict[str, Any], *, kid: str | None = None, key: rsa.RSAPrivateKey | None = None) -> str:
        kid = kid or self.kid
        return jwt.encode(claims, key or self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def token_for(self, jira: Any, *, account_id: str, issue: dict[str, Any], **overrides: Any) -> str:
        """A token for `issue` of the Jira simulator `jira`, viewed by `account_id`."""
        project = jira.projects[jira.issue(issue["id"])["project_id"]]
        claims = self.claims(
            account_id=account_id,
            issue=issue,
            project=project,
            cloud_id=jira.cloud_id,
            site_url=jira.url,
            api_base_url=jira.url + jira.gateway_prefix,
        )
        claims.update(overrides)
        return self.sign(claims)

    def invoke(
        self,
        remote: str,
        path: str,
        token: str,
        *,
        method: str = "GET",
        body: Any = None,
        user_token: str | None = None,
    ) -> httpx.Response:
        """What Forge does for `invokeRemote({path, method, body})`: the call with the FIT (and user token)."""
        headers = {"Authorization": f"Bearer {token}"}
        if user_token:
            headers["x-forge-oauth-user"] = user_token
        return httpx.request(method, remote.rstrip("/") + path, headers=headers, json=body, timeout=30)
