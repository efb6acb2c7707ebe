"""Inbound webhook endpoints: one URL per Jira site and per Intercom workspace."""

import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from connector.intercom_events import topic_of
from connector.models import IntercomWorkspace, JiraSite, WebhookEvent
from connector.signatures import hub_signature_valid
from pipeline.intake import IntakeError, Stored, body_digest, parse_json_object, webhook_event_store
from pipeline.refusals import refusal_record

logger = logging.getLogger(__name__)

def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 503:
        response["Retry-After"] = "30"
    return response


def _stored_response(stored: Stored) -> HttpResponse:
    """202 with {"status": "accepted" | "duplicate", "id": …}: two fixed keys, written directly because
    JsonResponse's encoder costs a tenth of the delivery's own work."""
    event_id = b"null" if stored.event_id is None else b"%d" % stored.event_id
    status = b"duplicate" if stored.duplicate else b"accepted"
    return HttpResponse(b'{"status": "%s", "id": %s}' % (status, event_id), status=202,
                        content_type="application/json")


def _read_body(request) -> bytes:
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise IntakeError(400, "Content-Length is not a number.") from None
    if declared > limit:
        raise IntakeError(413, f"The body is larger than the limit of {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise IntakeError(413, f"The body is larger than the limit of {limit} bytes.")
    return body


def _signature(request) -> str | None:
    """The X-Hub-Signature header; one that is not ASCII is refused before any check (it cannot be a digest)."""
    signature = request.META.get("HTTP_X_HUB_SIGNATURE")  # META: request.headers copies every header
    if signature is not None and not signature.isascii():
        raise IntakeError(400, "The X-Hub-Signature header is not ASCII; send <method>=<hex digest>.")
    return signature


def _guarded(handler, source: str):
    """Translate refusals to their status (and count them for the admin), and a database outage to 503 so the
    sender retries."""

    def view(request, public_id):
        try:
            return handler(request, public_id)
        except IntakeError as exc:
            # A 404 means no connection has this URL: counted in one bucket, whatever id a stranger made up.
            refusal_record(source=source, sender=str(public_id) if exc.status != 404 else None,
                           status=exc.status, reason=exc.message, request=request)
            return _error(exc.status, exc.message)
        except DatabaseError as exc:
            logger.error("intake.database_unavailable", extra={"error": type(exc).__name__})
            return _error(503, "The service cannot store the delivery right now; please retry.")

    return view


def _jira_webhook(request, public_id):
    body = _read_body(request)
    signature = _signature(request)

    def verified(site) -> bool:
        if signature is not None:
            return hub_signature_valid(signature, body, site.webhook_secret, algorithm="sha256")
        # Jira Data Center without signing: the secret travels in the URL instead.
        return constant_time_compare(request.GET.get("token", ""), site.webhook_secret)

    site = _jira_site(public_id)
    if site is not None and not verified(site):
        site = _jira_site(public_id, fresh=True)  # the secret may have been rotated a moment ago
        if site is not None and not verified(site):
            if signature is not None:
                raise IntakeError(401, "The X-Hub-Signature does not match this site's webhook secret.")
            raise IntakeError(401, "The delivery is not signed (X-Hub-Signature) and carries no valid token.")
    if site is None:
        raise IntakeError(404, "No Jira site is connected at this URL.")
    payload = parse_json_object(body)
    event_type = str(payload.get("webhookEvent") or "")
    if not event_type:
        raise IntakeError(400, "The body has no webhookEvent; this does not look like a Jira webhook.")
    stored = webhook_event_store(
        source=WebhookEvent.Source.JIRA,
        site=site,
        delivery_id=request.META.get("HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER") or body_digest(body),
        payload=payload,
        body=body.decode("utf-8"),
        event_type=event_type,
        retry_header=_int(request.META.get("HTTP_X_ATLASSIAN_WEBHOOK_RETRY")),
    )
    return _stored_response(stored)


def _intercom_webhook(request, public_id):
    workspace = IntercomWorkspace.objects.filter(public_id=public_id).only("pk", "client_secret").first()
    if workspace is None:
        raise IntakeError(404, "No Intercom workspace is connected at this URL.")
    if request.method == "HEAD":  # Intercom checks the URL this way when it is saved
        return HttpResponse(status=200)
    body = _read_body(request)
    if not hub_signature_valid(_signature(request), body, workspace.client_secret, algorithm="sha1"):
        raise IntakeError(401, "The X-Hub-Signature does not match this workspace's client secret.")
    payload = parse_json_object(body)
    topic = str(payload.get("topic") or "")
    if not topic:
        raise IntakeError(400, "The body has no topic; this does not look like an Intercom notification.")
    if topic == "ping":
        return JsonResponse({"status": "pong"}, status=200)
    status = WebhookEvent.Status.RECEIVED if topic_of(topic) else WebhookEvent.Status.IGNORED
    stored = webhook_event_store(
        source=WebhookEvent.Source.INTERCOM,
        workspace=workspace,
        delivery_id=str(payload.get("id") or body_digest(body)),
        payload=payload,
        body=body.decode("utf-8"),
        event_type=topic,
        status=status,
        error="" if status == WebhookEvent.Status.RECEIVED else "The connector does not act on this topic.",
    )
    return _stored_response(stored)


jira_webhook = csrf_exempt(require_http_methods(["POST"])(_guarded(_jira_webhook, "jira")))
intercom_webhook = csrf_exempt(
    require_http_methods(["POST", "HEAD"])(_guarded(_intercom_webhook, "intercom"))
)

_SITE_CACHE_SECONDS = 30.0
_sites: dict[str, tuple[float, JiraSite]] = {}


def _jira_site(public_id, *, fresh: bool = False) -> JiraSite | None:
    """The site and its decrypted secret, cached briefly per process (a third of a delivery's cost otherwise).
    A signature that fails against the cached secret is checked again against the database."""
    key = str(public_id)
    cached = _sites.get(key)
    if cached and not fresh and cached[0] > time.monotonic():
        return cached[1]
    site = JiraSite.objects.filter(public_id=public_id).only("pk", "webhook_secret").first()
    if site is None:
        _sites.pop(key, None)
    else:
        _sites[key] = (time.monotonic() + _SITE_CACHE_SECONDS, site)
    return site


def _int(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0
