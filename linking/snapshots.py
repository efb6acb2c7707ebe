"""Conversation data for cards and remote links, read through the Intercom client and cached briefly."""

import logging
from dataclasses import dataclass, field

from django.core.cache import cache

from connector.errors import VendorError, VendorErrorKind
from connector.intercom_client import client_for
from connector.models import IntercomWorkspace

logger = logging.getLogger(__name__)
CACHE_SECONDS = 60
ADMINS_CACHE_SECONDS = 300


@dataclass
class ConversationBundle:
    """A conversation with its first contact and that contact's first company; `problem` when unreadable."""

    conversation_id: str
    conversation: dict | None = None
    contact: dict | None = None
    company: dict | None = None
    problem: str = ""  # "", "deleted" (Intercom says 404) or "unreachable" (anything else)
    message: str = ""
    admins: dict[str, str] = field(default_factory=dict)  # admin id -> name, for the assignee

    @property
    def state(self) -> str:
        return str((self.conversation or {}).get("state") or "")

    @property
    def is_closed(self) -> bool:
        return self.state == "closed"


def _key(workspace: IntercomWorkspace, conversation_id: str) -> str:
    return f"linking:conversation:{workspace.pk}:{conversation_id}"


def conversation_bundle(
    workspace: IntercomWorkspace, conversation_id: str, *, fresh: bool = False
) -> ConversationBundle:
    key = _key(workspace, conversation_id)
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    bundle = _fetch(workspace, conversation_id)
    if bundle.problem != "unreachable":  # do not remember outages; the next view asks again
        cache.set(key, bundle, CACHE_SECONDS)
    return bundle


def conversation_forget(workspace: IntercomWorkspace, conversation_id: str) -> None:
    cache.delete(_key(workspace, conversation_id))


def _fetch(workspace: IntercomWorkspace, conversation_id: str) -> ConversationBundle:
    bundle = ConversationBundle(conversation_id=conversation_id)
    client = client_for(workspace)
    try:
        bundle.conversation = client.conversation(conversation_id)
    except VendorError as exc:
        bundle.problem = "deleted" if exc.kind == VendorErrorKind.NOT_FOUND else "unreachable"
        bundle.message = str(exc)
        return bundle
    contacts = ((bundle.conversation.get("contacts") or {}).get("contacts")) or []
    try:
        if contacts and contacts[0].get("id"):
            bundle.contact = client.contact(str(contacts[0]["id"]))
        companies = ((bundle.contact or {}).get("companies") or {}).get("data") or []
        if companies and companies[0].get("id"):
            bundle.company = client.company(str(companies[0]["id"]))
        bundle.admins = admin_names(workspace)
    except VendorError as exc:  # the conversation itself is there: show what we have
        logger.info("linking.snapshot_partial", extra={"conversation": conversation_id, "error": str(exc)})
    return bundle


def admin_names(workspace: IntercomWorkspace) -> dict[str, str]:
    key = f"linking:admins:{workspace.pk}"
    names = cache.get(key)
    if names is None:
        names = {str(a.get("id")): str(a.get("name") or "") for a in client_for(workspace).admins()}
        cache.set(key, names, ADMINS_CACHE_SECONDS)
    return names


def customer_name(bundle: ConversationBundle) -> str:
    contact = bundle.contact or {}
    author = ((bundle.conversation or {}).get("source") or {}).get("author") or {}
    return str(contact.get("name") or contact.get("email") or author.get("name") or author.get("email") or "")


def subject_text(bundle: ConversationBundle) -> str:
    """The subject, else the title, else the start of the first message as plain text."""
    import nh3

    conversation = bundle.conversation or {}
    source = conversation.get("source") or {}
    for candidate in (source.get("subject"), conversation.get("title")):
        text = _plain(nh3.clean(str(candidate), tags=set())) if candidate else ""
        if text:
            return text[:200]
    body = _plain(nh3.clean(str(source.get("body") or ""), tags=set()))
    return body[:120] + ("…" if len(body) > 120 else "")


def _plain(text: str) -> str:
    import html

    return " ".join(html.unescape(text).split())
