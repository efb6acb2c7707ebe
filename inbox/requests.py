"""Reading a Canvas Kit request (initialize or submit, Intercom 2.11): who asks, about which conversation."""

from dataclasses import dataclass, field, replace
from html import unescape
from typing import Any

from django.utils.html import strip_tags

MAX_INPUT = 5000


class CanvasRequestError(ValueError):
    """The body is not a canvas request we can read; the message says what is missing (answered with 400)."""


@dataclass(frozen=True)
class Teammate:
    """The Intercom teammate viewing the conversation, from the signed request."""

    id: str
    name: str
    email: str = ""
    team_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CanvasRequest:
    workspace_id: str
    teammate: Teammate
    conversation_id: str
    title: str = ""
    first_message: str = ""  # the customer's opening message, as plain text
    customer_name: str = ""
    component_id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict)  # what our previous canvas asked to get back


def _object(payload: dict, name: str) -> dict:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise CanvasRequestError(f"The request has no `{name}` object.")
    return value


def _plain(html: Any) -> str:
    return unescape(strip_tags(str(html or ""))).strip()


def canvas_request_parse(payload: Any, *, submit: bool) -> CanvasRequest:
    if not isinstance(payload, dict):
        raise CanvasRequestError("The body must be a JSON object.")
    admin = _object(payload, "admin")
    if not admin.get("id"):
        raise CanvasRequestError("The request's `admin` has no id.")
    team_ids = admin.get("team_ids") or []
    if not isinstance(team_ids, list):
        raise CanvasRequestError("The request's `admin.team_ids` is not a list.")
    teammate = Teammate(
        id=str(admin["id"]),
        name=str(admin.get("name") or admin.get("email") or f"teammate {admin['id']}")[:255],
        email=str(admin.get("email") or ""),
        team_ids=tuple(str(t) for t in team_ids),
    )
    conversation = payload.get("conversation") if isinstance(payload.get("conversation"), dict) else {}
    context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
    conversation_id = str(context.get("conversation_id") or conversation.get("id") or "")
    if not conversation_id.isdigit():
        raise CanvasRequestError("The request names no conversation (context.conversation_id); add the app to "
                                 "the conversation details of the Inbox.")
    source = conversation.get("source") if isinstance(conversation.get("source"), dict) else {}
    author = source.get("author") if isinstance(source.get("author"), dict) else {}
    contact = payload.get("contact") if isinstance(payload.get("contact"), dict) else {}
    request = CanvasRequest(
        workspace_id=str(payload.get("workspace_id") or ""),
        teammate=teammate,
        conversation_id=conversation_id,
        title=_plain(conversation.get("title") or source.get("subject"))[:255],
        first_message=_plain(source.get("body"))[:MAX_INPUT],
        customer_name=str(author.get("name") or contact.get("name") or ""),
    )
    if not submit:
        return request
    component_id = payload.get("component_id")
    inputs = payload.get("input_values") or {}
    if not isinstance(component_id, str) or not component_id:
        raise CanvasRequestError("A submit request needs a `component_id`.")
    if not isinstance(inputs, dict):
        raise CanvasRequestError("`input_values` must be an object.")
    current = payload.get("current_canvas") if isinstance(payload.get("current_canvas"), dict) else {}
    # The 2.11 schema wraps the canvas once more (`current_canvas.current_canvas`); Intercom's examples do not.
    current = current.get("current_canvas") if isinstance(current.get("current_canvas"), dict) else current
    stored = current.get("stored_data") if isinstance(current.get("stored_data"), dict) else {}
    return replace(
        request, component_id=component_id[:200], inputs={str(k): _input(v) for k, v in inputs.items()}, stored=stored
    )


def _input(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v)[:MAX_INPUT] for v in value]
    return "" if value is None else str(value)[:MAX_INPUT]
