"""Typed Intercom notifications: the few conversation topics the connector acts on."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ConversationEvent:
    topic: str
    conversation_id: str
    state: str | None  # open / closed / snoozed, when the payload says
    author_admin_id: str | None  # who wrote the triggering part, when an admin did
    is_own: bool  # written by the connector's own app admin (loop prevention)


def parse_intercom_event(payload: dict, *, app_admin_id: str = "") -> ConversationEvent | None:
    """None when the notification lacks a conversation id (anomalous)."""
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    item = data.get("item") if isinstance(data.get("item"), dict) else {}
    conversation_id = item.get("conversation_id") or item.get("id")
    if not conversation_id:
        return None
    parts = (item.get("conversation_parts") or {}).get("conversation_parts") or []
    author = parts[-1].get("author") if parts and isinstance(parts[-1], dict) else None
    author_admin_id = (
        str(author.get("id")) if isinstance(author, dict) and author.get("type") in {"admin", "bot"} else None
    )
    return ConversationEvent(
        topic=str(payload.get("topic") or ""),
        conversation_id=str(conversation_id),
        state=item.get("state"),
        author_admin_id=author_admin_id,
        is_own=bool(app_admin_id) and author_admin_id == str(app_admin_id),
    )
