"""Canvas Kit components as Intercom's 2.11 schemas define them, built as plain dicts.

Only what the Inbox app shows: text (Intercom renders a little markdown in it, so text that comes from Jira
or a customer is escaped), buttons, inputs, text areas, dropdowns, lists of clickable items and dividers.
List items carry no image: the 2.11 `list_component` accepts an item with an image as two of its `oneOf`
shapes at once, which a strict reader refuses.
"""

import re
from typing import Any

_MARKDOWN = re.compile(r"([\\`*_\[\]()#<>!|~])")
MAX_TEXT = 1000


def escape(value: str) -> str:
    """Text shown as is: Intercom's markdown (links, bold) cannot be smuggled in through a summary."""
    return _MARKDOWN.sub(r"\\\1", str(value or ""))[:MAX_TEXT]


def text(value: str, *, style: str = "paragraph") -> dict:
    return {"type": "text", "text": value, "style": style}


def error_text(value: str) -> dict:
    return text(value, style="error")


def button(component_id: str, label: str, *, style: str = "primary") -> dict:
    return {"type": "button", "id": component_id, "label": label, "style": style, "action": {"type": "submit"}}


def input_field(component_id: str, label: str, *, value: str = "", placeholder: str = "", failed: bool = False) -> dict:
    component = {"type": "input", "id": component_id, "label": label, "value": value or ""}
    if placeholder:
        component["placeholder"] = placeholder
    if failed:
        component["save_state"] = "failed"
    return component


def textarea(component_id: str, label: str, *, value: str = "", failed: bool = False) -> dict:
    return {"type": "textarea", "id": component_id, "label": label, "value": value or "", "error": failed}


def dropdown(component_id: str, label: str, options: list[tuple[str, str]], *, value: str = "") -> dict:
    component: dict[str, Any] = {
        "type": "dropdown",
        "id": component_id,
        "label": label,
        "options": [{"type": "option", "id": option_id, "text": name} for option_id, name in options],
    }
    if value and any(option_id == value for option_id, _ in options):
        component["value"] = value
    return component


def item(component_id: str, title: str, *, subtitle: str = "") -> dict:
    component = {"type": "item", "id": component_id, "title": title, "action": {"type": "submit"}}
    if subtitle:
        component["subtitle"] = subtitle
    return component


def item_list(items: list[dict]) -> dict:
    return {"type": "list", "items": items}


def divider() -> dict:
    return {"type": "divider"}


def canvas(components: list[dict], *, stored_data: dict | None = None) -> dict:
    """The answer to an initialize or submit request."""
    body: dict[str, Any] = {"content": {"components": components}}
    if stored_data:
        body["stored_data"] = stored_data
    return {"canvas": body}
