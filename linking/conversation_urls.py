"""Parse what people paste for an Intercom conversation or ticket: a bare id or an inbox URL of any known shape.

Shapes seen in the wild:
- old:     https://app.intercom.io/a/apps/<app>/inbox/inbox/all/conversations/<id>
           https://app.intercom.io/a/apps/<app>/conversations/<id>
- current: https://app.intercom.com/a/inbox/<app>/inbox/shared/all/conversation/<id>#part_id=comment-<n>
           https://app.intercom.com/a/inbox/<app>/inbox/conversation/<id>?view=List
- regions: app.eu.intercom.com, app.au.intercom.com (and their .io twins)
- tickets: the same layouts with ticket(s)/<id> instead of conversation(s)/<id>, e.g.
           https://app.intercom.com/a/inbox/<app>/inbox/shared/all/ticket/<id>
           https://app.intercom.com/a/apps/<app>/tickets/<id>
  (the id in the URL is the ticket's API id, which the ticket endpoints take)
Anything else, including look-alike hosts, credentials in the URL and non-ASCII digits, is refused.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_INPUT = 2048
HOST_REGIONS = {
    "app.intercom.io": "us",
    "app.intercom.com": "us",
    "app.eu.intercom.io": "eu",
    "app.eu.intercom.com": "eu",
    "app.au.intercom.io": "au",
    "app.au.intercom.com": "au",
}
WEB_HOSTS = {"us": "app.intercom.com", "eu": "app.eu.intercom.com", "au": "app.au.intercom.com"}
_ID = re.compile(r"[0-9]{1,24}")
_APP = re.compile(r"[a-z0-9]{1,32}")
# Both layouts put the app id right after /a/apps/ or /a/inbox/; the id is the segment after
# conversation(s)/, wherever the inbox view path in between goes.
_PATH = re.compile(
    r"^/a/(?:apps|inbox)/(?P<app>[^/]+)(?:/[^/]+)*?/(?P<kind>conversation|ticket)s?/(?P<id>[^/]+)/?$", re.ASCII
)
_URL_IN_TEXT = re.compile(r"https?://app\.(?:(?:eu|au)\.)?intercom\.(?:io|com)/a/[^\s\"'<>\]\[|)(}{]+", re.ASCII)


class ConversationRefError(ValueError):
    """What was pasted is not a conversation URL or id; the message says why, for the user."""


@dataclass(frozen=True)
class ConversationRef:
    conversation_id: str  # a ticket's id when target_type is "ticket"
    app_id: str | None = None  # None for a bare id: it belongs to whichever workspace the project uses
    region: str | None = None
    target_type: str = "conversation"  # or "ticket"


def parse_conversation_ref(text: str, *, target_type: str = "conversation") -> ConversationRef:
    """`target_type` says what a bare id is; a URL says it itself."""
    if not isinstance(text, str):
        raise ConversationRefError("Paste a conversation URL or id.")
    text = text.strip()
    if not text:
        raise ConversationRefError("Paste a conversation URL or id.")
    if len(text) > MAX_INPUT:
        raise ConversationRefError("That is far too long to be a conversation URL.")
    if _ID.fullmatch(text):
        return ConversationRef(conversation_id=_normal_id(text), target_type=target_type)
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ConversationRefError("A conversation URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConversationRefError("That is not a valid URL.") from None
    if parts.scheme.lower() not in ("https", "http"):
        raise ConversationRefError("Paste an https:// link from the Intercom inbox, or the conversation id.")
    if parts.username or parts.password or port not in (None, 443, 80):
        raise ConversationRefError("That URL is not an Intercom inbox link.")
    host = (parts.hostname or "").lower()
    region = HOST_REGIONS.get(host)
    if region is None:
        raise ConversationRefError(f"“{host or text[:60]}” is not an Intercom inbox host.")
    match = _PATH.match(parts.path)
    if not match:
        raise ConversationRefError("That Intercom link does not point at a conversation or a ticket.")
    app_id, conversation_id = match.group("app").lower(), match.group("id")
    if not _APP.fullmatch(app_id):
        raise ConversationRefError("That Intercom link has no valid workspace id.")
    kind = match.group("kind")
    if not _ID.fullmatch(conversation_id):
        raise ConversationRefError(f"That Intercom link has no valid {kind} id.")
    return ConversationRef(conversation_id=_normal_id(conversation_id), app_id=app_id, region=region, target_type=kind)


def _normal_id(digits: str) -> str:
    normal = digits.lstrip("0")
    if not normal:
        raise ConversationRefError("0 is not a conversation id.")
    return normal


def find_conversation_refs(text: str) -> list[ConversationRef]:
    """Every conversation URL in free text (issue description, comment, ADF as JSON), in order, once each."""
    found: dict[tuple, ConversationRef] = {}
    for match in _URL_IN_TEXT.finditer(text or ""):
        candidate = match.group(0).rstrip(".,;:!?*_~")
        try:
            ref = parse_conversation_ref(candidate)
        except ConversationRefError:
            continue
        found.setdefault((ref.app_id, ref.target_type, ref.conversation_id), ref)
    return list(found.values())


def conversation_web_url(*, app_id: str, region: str, conversation_id: str, target_type: str = "conversation") -> str:
    """Where a person opens the conversation (or ticket) in the Intercom inbox."""
    host = WEB_HOSTS.get(region, WEB_HOSTS["us"])
    kind = "ticket" if target_type == "ticket" else "conversation"
    return f"https://{host}/a/inbox/{app_id}/inbox/{kind}/{conversation_id}"
