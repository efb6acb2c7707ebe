"""Typed Intercom notifications: the closed set of conversation topics the connector acts on."""

from dataclasses import dataclass
from enum import StrEnum


class IntercomTopic(StrEnum):
    DELETED = "conversation.deleted"
    CLOSED = "conversation.admin.closed"
    OPENED = "conversation.admin.opened"
    SNOOZED = "conversation.admin.snoozed"
    UNSNOOZED = "conversation.admin.unsnoozed"
    USER_REPLIED = "conversation.user.replied"


def topic_of(value: str) -> IntercomTopic | None:
    """The topic, when the connector acts on it; None for every other topic (stored as ignored)."""
    try:
        return IntercomTopic(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class ConversationEvent:
    topic: IntercomTopic
    conversation_id: str
    state: str | None  # open / closed / snoozed, when the payload says
    author_admin_id: str | None  # who wrote the triggering part, when an admin did
    is_own: bool  # written by the connector's own app admin (loop prevention)
    # The triggering part (customer replies: the customer's voice back in Jira, linking/voice.py)
    part_id: str = ""
    author_name: str = ""
    body: str = ""  # HTML, as Intercom sends it


@dataclass(frozen=True)
class IntercomParseResult:
    outcome: str  # "ok", "ignored" or "anomalous", as for Jira events
    event: ConversationEvent | None = None
    reason: str = ""


def parse_intercom_event(payload: dict, *, app_admin_id: str = "") -> IntercomParseResult:
    topic = topic_of(str(payload.get("topic") or ""))
    if topic is None:
        return IntercomParseResult("ignored", reason="The connector does not act on this topic.")
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    item = data.get("item") if isinstance(data.get("item"), dict) else {}
    conversation_id = item.get("conversation_id") or item.get("id")
    if not conversation_id:
        return IntercomParseResult("anomalous", reason="The notification names no conversation.")
    parts = (item.get("conversation_parts") or {}).get("conversation_parts") or []
    author = parts[-1].get("author") if parts and isinstance(parts[-1], dict) else None
    author_admin_id = (
        str(author.get("id")) if isinstance(author, dict) and author.get("type") in {"admin", "bot"} else None
    )
    part = parts[-1] if parts and isinstance(parts[-1], dict) else {}
    event = ConversationEvent(
        topic=topic,
        conversation_id=str(conversation_id),
        state=item.get("state"),
        author_admin_id=author_admin_id,
        is_own=bool(app_admin_id) and author_admin_id == str(app_admin_id),
        part_id=str(part.get("id") or ""),
        author_name=str(author.get("name") or author.get("email") or "") if isinstance(author, dict) else "",
        body=str(part.get("body") or ""),
    )
    if event.is_own:
        return IntercomParseResult("ignored", event, "Written by the connector's own Intercom admin.")
    return IntercomParseResult("ok", event)
