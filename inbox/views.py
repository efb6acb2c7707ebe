"""The Canvas Kit endpoints Intercom calls (initialize, submit), one pair of URLs per workspace.

Every request is refused unless `X-Body-Signature` is the hex HMAC-SHA256 of the raw body with the
workspace's client secret (compared in constant time). A request we cannot read is a 400; everything past
that answers a canvas, failures included, so the teammate never sees a blank app.
"""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connector.json_input import JSONRefused, json_parse
from connector.models import IntercomWorkspace
from connector.signatures import body_signature_valid
from inbox import handlers, screens
from inbox.requests import CanvasRequestError, canvas_request_parse

logger = logging.getLogger(__name__)


def _refuse(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _answer(request, public_id, *, submit: bool) -> JsonResponse:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(400, "Content-Length is not a number.")
    if declared > settings.INBOX_MAX_BODY_BYTES:
        return _refuse(413, f"The body is larger than {settings.INBOX_MAX_BODY_BYTES} bytes.")
    body = request.body
    try:
        workspace = IntercomWorkspace.objects.filter(public_id=public_id).first()
    except DatabaseError:  # nothing can be checked yet, so no canvas either: Intercom shows its own error
        logger.exception("inbox.database_unavailable")
        return _refuse(503, "The connector cannot read its database right now; try again in a moment.")
    if workspace is None:
        return _refuse(404, "No Intercom workspace is connected at this URL.")
    if not body_signature_valid(request.headers.get("X-Body-Signature"), body, workspace.client_secret):
        return _refuse(401, "The X-Body-Signature does not match this workspace's client secret.")
    try:
        parsed = canvas_request_parse(json_parse(body), submit=submit)
    except (JSONRefused, CanvasRequestError) as exc:
        return _refuse(400, str(exc))
    if workspace.workspace_id and parsed.workspace_id and parsed.workspace_id != workspace.workspace_id:
        return _refuse(403, f"This URL belongs to Intercom workspace {workspace.workspace_id}, "
                            f"not {parsed.workspace_id}.")
    try:
        answer = handlers.submit(workspace, parsed) if submit else handlers.initialize(workspace, parsed)
    except DatabaseError:
        logger.exception("inbox.database_unavailable")
        answer = _failure(parsed, "The connector cannot read its database right now.")
    except Exception:  # Intercom shows a blank app for a 500: a bug still gets a canvas that says so
        logger.exception("inbox.failed")
        answer = _failure(parsed, "The connector failed unexpectedly; the error is in its log.")
    return JsonResponse(answer)


def _failure(parsed, cause: str) -> dict:
    retry = {"component_id": parsed.component_id or "home", "inputs": parsed.inputs, "stored": parsed.stored}
    return screens.failure("answer", cause, retry=retry)


@csrf_exempt
@require_POST
def initialize(request, public_id):
    return _answer(request, public_id, submit=False)


@csrf_exempt
@require_POST
def submit(request, public_id):
    return _answer(request, public_id, submit=True)
