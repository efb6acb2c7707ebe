"""Jira fields on the Inbox's create-issue form: which createmeta fields it can ask for, and the value Jira
wants for what a teammate typed or picked.

A field is stored on the form as {"id", "name", "kind", "required", "default", "options": [{"id", "name"}]}.
Kinds: "option" (one of Jira's allowed values: priority, select lists, components, versions), "options" (an
array of them), "string", "text" (a paragraph: ADF on Jira Cloud), "strings" (labels), "number".
"""

from typing import Any

# Set by the form itself or not meant for a teammate to type.
NOT_OFFERED = frozenset({"summary", "description", "project", "issuetype", "reporter", "attachment", "issuelinks"})
NONE = "none"  # the dropdown choice that leaves an optional field empty
MAX_OPTIONS = 200
# Intercom draws a dropdown of at most ten options; a longer list is a text input that takes the option's name.
MAX_DROPDOWN = 10


def field_kind(meta: dict) -> str | None:
    """The kind of a createmeta field, or None when the form cannot ask for it (users, cascading lists…)."""
    schema = meta.get("schema") or {}
    kind, custom = schema.get("type"), str(schema.get("custom") or "")
    if meta.get("allowedValues") is not None:
        if kind == "array":
            return "options"
        return "option" if kind in ("priority", "option", "version", "component", "resolution") else None
    if kind == "array" and schema.get("items") == "string":
        return "strings"
    if kind == "number":
        return "number"
    if kind == "string":
        return "text" if custom.endswith(":textarea") else "string"
    if kind in ("date", "datetime"):
        return "string"
    return None


def offered_fields(metas: list[dict]) -> list[dict]:
    """The createmeta fields an admin may put on the form, as form fields (not yet chosen)."""
    offered = []
    for meta in metas:
        field_id = str(meta.get("fieldId") or meta.get("key") or "")
        kind = field_kind(meta)
        if not field_id or field_id in NOT_OFFERED or kind is None:
            continue
        options = [
            {"id": str(v.get("id")), "name": str(v.get("name") or v.get("value") or v.get("id"))}
            for v in (meta.get("allowedValues") or [])[:MAX_OPTIONS]
            if v.get("id") is not None
        ]
        default = meta.get("defaultValue")
        if isinstance(default, dict):
            default = str(default.get("id") or "")
        offered.append(
            {
                "id": field_id,
                "name": str(meta.get("name") or field_id),
                "kind": kind,
                "jira_required": bool(meta.get("required")) and not meta.get("hasDefaultValue"),
                "default": default if isinstance(default, str) else "",
                "options": options,
            }
        )
    return offered


class FieldValueError(ValueError):
    """What the teammate typed cannot be this field's value; the message is shown next to the field."""


def jira_value(field: dict, raw: Any, *, cloud: bool) -> Any:
    """The value for Jira's `fields`, or None to leave the field out."""
    kind = field.get("kind")
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    text = text.strip()
    if kind in ("option", "options"):
        if not text or text == NONE:
            return None
        options = field.get("options") or []
        chosen = next((o["id"] for o in options if text == o["id"]), None) or next(
            (o["id"] for o in options if text.casefold() == o["name"].casefold()), None)
        if chosen is None:
            raise FieldValueError(f"Pick one of: {', '.join(o['name'] for o in options[:20])}.")
        return [{"id": chosen}] if kind == "options" else {"id": chosen}
    if not text:
        return None
    if kind == "strings":
        return [part for part in text.replace(",", " ").split() if part]
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise FieldValueError("Enter a number.") from None
    if kind == "text" and cloud:
        return adf(text)
    return text


def adf(text: str, *, link: tuple[str, str] | None = None) -> dict:
    """An Atlassian document: a paragraph per blank-line-separated block, and a last one with a link."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": block}]}
        for block in (b.strip() for b in text.split("\n\n"))
        if block
    ]
    if link:
        label, url = link
        mark = {"type": "link", "attrs": {"href": url}}
        paragraphs.append({"type": "paragraph", "content": [{"type": "text", "text": label, "marks": [mark]}]})
    return {"type": "doc", "version": 1, "content": paragraphs}
