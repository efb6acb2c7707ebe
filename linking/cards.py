"""The fields a card shows: which attributes exist per entity, which the admin chose, and their values.

Every value from Intercom is either plain text (escaped by the template) or HTML cleaned by nh3 here.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import nh3
from django.utils.safestring import SafeString, mark_safe

from connector.models import IntercomWorkspace
from linking.models import VisibleFields
from linking.snapshots import ConversationBundle, subject_text

Entity = VisibleFields.Entity

# Standard attributes per entity (path, label); the workspace's own (custom) ones come from Intercom.
STANDARD: dict[str, list[tuple[str, str]]] = {
    Entity.CONVERSATION: [
        ("state", "State"),
        ("assignee", "Assignee"),
        ("tags", "Tags"),
        ("created_at", "Created"),
        ("updated_at", "Last activity"),
        ("subject", "Subject or first message"),
        ("first_message", "First message"),
        ("priority", "Priority"),
    ],
    Entity.CONTACT: [
        ("name", "Name"),
        ("email", "Email"),
        ("phone", "Phone"),
        ("company", "Company"),
        ("role", "Role"),
        ("created_at", "Signed up"),
        ("last_seen_at", "Last seen"),
    ],
    Entity.COMPANY: [
        ("name", "Name"),
        ("size", "Size"),
        ("plan", "Plan"),
        ("monthly_spend", "Monthly spend"),
        ("user_count", "Users"),
        ("industry", "Industry"),
        ("website", "Website"),
    ],
}
DEFAULTS: dict[str, list[str]] = {
    Entity.CONVERSATION: ["state", "assignee", "subject", "updated_at"],
    Entity.CONTACT: ["name", "email", "company"],
    Entity.COMPANY: ["name", "plan"],
}
_TIMESTAMPS = {"created_at", "updated_at", "last_seen_at", "signed_up_at"}
ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "code", "pre", "blockquote"}


def sanitize_html(html: str) -> SafeString:
    """Intercom message HTML, reduced to harmless formatting; links only to http(s)/mailto, opened safely."""
    cleaned = nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - cleaned by nh3 just above


def available_attributes(entity: str, workspace_attributes: list[dict]) -> list[tuple[str, str]]:
    """Standard attributes, then the workspace's custom ones (from `data_attributes(model)`), without repeats."""
    found = list(STANDARD[entity])
    seen = {path for path, _ in found}
    for attribute in workspace_attributes:
        if attribute.get("archived"):
            continue
        path = str(attribute.get("full_name") or attribute.get("name") or "")
        if path and path not in seen:
            seen.add(path)
            found.append((path, str(attribute.get("label") or attribute.get("name") or path)))
    return found


def chosen_fields(workspace: IntercomWorkspace) -> dict[str, list[str]]:
    chosen = {entity: list(DEFAULTS[entity]) for entity in DEFAULTS}
    for row in VisibleFields.objects.filter(workspace=workspace):
        chosen[row.entity] = [str(path) for path in row.fields]
    return chosen


@dataclass(frozen=True)
class FieldValue:
    label: str
    value: str | SafeString


def _label(entity: str, path: str) -> str:
    for known, label in STANDARD[entity]:
        if known == path:
            return label
    return path.removeprefix("custom_attributes.").replace("_", " ").capitalize()


def _lookup(item: dict, path: str):
    value = item
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _display(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_display(v) for v in value if v not in (None, ""))
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or "")
    return str(value)


def _timestamp(value) -> str:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return _display(value)


def _conversation_value(bundle: ConversationBundle, path: str):
    conversation = bundle.conversation or {}
    if path == "assignee":
        admin_id = conversation.get("admin_assignee_id")
        return bundle.admins.get(str(admin_id), f"admin {admin_id}") if admin_id else "Unassigned"
    if path == "tags":
        return [t.get("name") for t in (conversation.get("tags") or {}).get("tags") or []]
    if path == "subject":
        return subject_text(bundle)
    if path == "first_message":
        return sanitize_html(str((conversation.get("source") or {}).get("body") or ""))
    return _lookup(conversation, path)


def _contact_value(bundle: ConversationBundle, path: str):
    if path == "company":
        return (bundle.company or {}).get("name")
    return _lookup(bundle.contact or {}, path)


def _company_value(bundle: ConversationBundle, path: str):
    company = bundle.company or {}
    if path == "plan":
        return (company.get("plan") or {}).get("name") if isinstance(company.get("plan"), dict) else company.get("plan")
    return _lookup(company, path)


_GETTERS = {Entity.CONVERSATION: _conversation_value, Entity.CONTACT: _contact_value, Entity.COMPANY: _company_value}


def card_sections(bundle: ConversationBundle, chosen: dict[str, list[str]]) -> list[tuple[str, list[FieldValue]]]:
    """(entity label, values) per entity with something to show, in the chosen order."""
    sections = []
    for entity, label in Entity.choices:
        if entity == Entity.CONTACT and not bundle.contact:
            continue
        if entity == Entity.COMPANY and not bundle.company:
            continue
        values = []
        for path in chosen.get(entity, []):
            raw = _GETTERS[entity](bundle, path)
            if isinstance(raw, SafeString):
                shown: str | SafeString = raw
            elif path.rsplit(".", 1)[-1] in _TIMESTAMPS:
                shown = _timestamp(raw) if raw else ""
            else:
                shown = _display(raw)
            values.append(FieldValue(label=_label(entity, path), value=shown or "—"))
        if values:
            sections.append((label, values))
    return sections
