"""Helpers to send signed webhooks the way Jira and Intercom do."""

import json
import uuid
from pathlib import Path

from django.conf import settings

from connector.signatures import sign

CONTRACTS = Path(settings.CONTRACTS_DIR)
JIRA_SAMPLES = CONTRACTS / "jira-webhooks"
INTERCOM_SAMPLES = CONTRACTS / "intercom-webhooks"


def jira_sample(name: str) -> dict:
    return json.loads(next(JIRA_SAMPLES.rglob(name)).read_text())


def intercom_sample(name: str) -> dict:
    return json.loads((INTERCOM_SAMPLES / name).read_text())


def post_jira(
    client,
    site,
    payload,
    *,
    identifier: str | None = None,
    secret: str | None = None,
    body: bytes | None = None,
    **headers,
):
    body = body if body is not None else json.dumps(payload).encode()
    headers.setdefault("HTTP_X_HUB_SIGNATURE", sign(body, secret or site.webhook_secret, algorithm="sha256"))
    headers.setdefault("HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER", identifier or str(uuid.uuid4()))
    headers = {k: v for k, v in headers.items() if v is not None}
    return client.post(f"/webhooks/jira/{site.public_id}", data=body, content_type="application/json", **headers)


def post_intercom(client, workspace, payload, *, secret: str | None = None, **headers):
    body = json.dumps(payload).encode()
    headers.setdefault("HTTP_X_HUB_SIGNATURE", sign(body, secret or workspace.client_secret, algorithm="sha1"))
    return client.post(
        f"/webhooks/intercom/{workspace.public_id}", data=body, content_type="application/json", **headers
    )
