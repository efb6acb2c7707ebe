"""Defensive readers that turn pieces of a Jira webhook body into typed refs.

Jira payloads vary between Cloud, Server/DC and versions, so every reader tolerates missing keys. A value
of the wrong shape where we depend on it raises `Anomaly`, which the parser turns into an "anomalous"
outcome instead of an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .types import Comment, CommentRestriction, FieldChange, IssueRef, StatusRef, UserRef

# …/rest/api/2/issue/<issueId>/comment/<commentId> (DC comment events carry no `issue`).
_COMMENT_SELF = re.compile(r"^(?P<base>.*?)/rest/api/[^/]+/issue/(?P<issue_id>\d+)/comment/\d+/?$")
_STATUS_CATEGORIES = frozenset({"new", "indeterminate", "done"})
# Changelog churn that says nothing a customer cares about.
_NOISE_FIELDS = frozenset(
    {
        "rank",
        "sprint",
        "timespent",
        "timeestimate",
        "timeoriginalestimate",
        "aggregatetimespent",
        "aggregatetimeestimate",
        "aggregatetimeoriginalestimate",
        "worklogid",
        "workflow",
        "remainingestimate",
    }
)


class Anomaly(Exception):
    """The payload lacks something we need; the message says what, in plain words."""


def obj(container: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> dict | None:
    value = container.get(key)
    if value is None:
        if required:
            raise Anomaly(f"{where} has no {key!r}")
        return None
    if not isinstance(value, dict):
        raise Anomaly(f"{where}.{key} is not an object")
    return value


def text(container: Mapping[str, Any] | None, key: str) -> str | None:
    """A string-ish scalar (Jira sends some ids as numbers); anything else counts as absent."""
    if not container:
        return None
    value = container.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        return str(value) or None
    return None


def _name_of(container: Mapping[str, Any], key: str) -> str | None:
    value = container.get(key)
    return text(value, "name") if isinstance(value, dict) else None


def _strings(values: Any, *, attr: str | None = None) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    out = []
    for v in values:
        s = text(v, attr) if attr and isinstance(v, dict) else (v if isinstance(v, str) else None)
        if s:
            out.append(s)
    return tuple(out)


def user_ref(value: Any) -> UserRef | None:
    if not isinstance(value, dict):
        return None
    user = UserRef(
        account_id=text(value, "accountId"),
        name=text(value, "name"),
        key=text(value, "key"),
        display_name=text(value, "displayName"),
        email=text(value, "emailAddress"),
    )
    return user if user.ids or user.display_name else None


def status_ref(value: Any) -> StatusRef | None:
    if not isinstance(value, dict):
        return None
    category = value.get("statusCategory")
    key = text(category, "key") if isinstance(category, dict) else None
    return StatusRef(
        id=text(value, "id"),
        name=text(value, "name"),
        category=key if key in _STATUS_CATEGORIES else None,
    )


def site_from_self(self_url: str | None) -> str | None:
    """`https://x.atlassian.net/jira/rest/api/2/issue/1` → `https://x.atlassian.net/jira`."""
    if not self_url or "/rest/" not in self_url:
        return None
    return self_url.split("/rest/", 1)[0] or None


def browse_url(key: str | None, site_url: str | None, self_url: str | None) -> str | None:
    site = (site_url or "").rstrip("/") or site_from_self(self_url)
    return f"{site}/browse/{key}" if site and key else None


def issue_ref(issue: dict, *, site_url: str | None) -> IssueRef:
    issue_id = text(issue, "id")
    if not issue_id:
        raise Anomaly("issue has no id")
    fields = obj(issue, "fields", "issue") or {}
    project = obj(fields, "project", "issue.fields") or {}
    key = text(issue, "key")
    self_url = text(issue, "self")
    return IssueRef(
        id=issue_id,
        key=key,
        self_url=self_url,
        browse_url=browse_url(key, site_url, self_url),
        project_id=text(project, "id"),
        project_key=text(project, "key"),
        summary=text(fields, "summary"),
        issue_type=_name_of(fields, "issuetype"),
        priority=_name_of(fields, "priority"),
        labels=_strings(fields.get("labels")),
        status=status_ref(fields.get("status")),
        assignee=user_ref(fields.get("assignee")),
        reporter=user_ref(fields.get("reporter")),
        resolution=_name_of(fields, "resolution"),
        fix_versions=_strings(fields.get("fixVersions"), attr="name"),
    )


def issue_ref_from_comment(comment: dict) -> IssueRef:
    """DC comment events have no `issue`; its id only appears in the comment's self URL."""
    match = _COMMENT_SELF.match(text(comment, "self") or "")
    if not match:
        raise Anomaly("comment event has no issue and comment.self does not name one")
    issue_id = match["issue_id"]
    return IssueRef(id=issue_id, self_url=f"{match['base']}/rest/api/2/issue/{issue_id}")


def _adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format node; Jira says it sends wiki markup, but be safe."""
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text") or "")
        content = node.get("content")
        parts = [_adf_text(child) for child in content] if isinstance(content, list) else []
        sep = "\n" if node.get("type") == "doc" else ""
        return sep.join(parts)
    return ""


def _is_internal_property(comment: dict) -> bool:
    """JSM on Server/DC marks internal comments with property `sd.public.comment` = {"internal": true}."""
    props = comment.get("properties")
    if not isinstance(props, list):
        return False
    for prop in props:
        if not isinstance(prop, dict) or prop.get("key") != "sd.public.comment":
            continue
        value = prop.get("value")
        if isinstance(value, str):  # some versions send the value JSON-encoded
            try:
                value = json.loads(value)
            except ValueError:
                return False
        if isinstance(value, dict):
            flag = value.get("internal")
            return flag is True or (isinstance(flag, str) and flag.lower() == "true")
    return False


def comment_value(comment: dict) -> Comment:
    comment_id = text(comment, "id")
    if not comment_id:
        raise Anomaly("comment has no id")
    body = comment.get("body")
    body_text = body if isinstance(body, str) else _adf_text(body)

    restriction = None
    visibility = "public"
    raw_visibility = comment.get("visibility")
    if isinstance(raw_visibility, dict) and text(raw_visibility, "type"):
        visibility = "restricted"
        restriction = CommentRestriction(
            type=text(raw_visibility, "type") or "", value=text(raw_visibility, "value")
        )
    elif comment.get("jsdPublic") is False or _is_internal_property(comment):
        visibility = "internal"

    return Comment(
        id=comment_id,
        body=body_text,
        author=user_ref(comment.get("author")),
        update_author=user_ref(comment.get("updateAuthor")),
        created=text(comment, "created"),
        updated=text(comment, "updated"),
        visibility=visibility,
        restriction=restriction,
    )


def changelog_items(payload: Mapping[str, Any]) -> tuple[str | None, list[dict]]:
    """(changelog id, items that are objects). A missing changelog is normal; a malformed one isn't."""
    changelog = obj(payload, "changelog", "payload")
    if changelog is None:
        return None, []
    items = changelog.get("items")
    if items is None:
        return text(changelog, "id"), []
    if not isinstance(items, list):
        raise Anomaly("changelog.items is not a list")
    return text(changelog, "id"), [item for item in items if isinstance(item, dict)]


def item_field_id(item: dict) -> str | None:
    """Cloud sends fieldId; DC only `field`, which for system fields ("jira") is the id."""
    field_id = text(item, "fieldId")
    if field_id:
        return field_id
    return text(item, "field") if item.get("fieldtype") == "jira" else None


def item_kind(item: dict) -> str:
    """Lower-cased name used to recognise the system fields we treat specially."""
    field_id = (item_field_id(item) or "").lower()
    if field_id == "issuekey":
        return "key"
    if field_id or item.get("fieldtype") == "custom":  # a DC custom field may well be called "Status"
        return field_id or "custom"
    return (text(item, "field") or "").lower()


def field_change(item: dict) -> FieldChange:
    field = text(item, "field") or item_field_id(item) or "?"
    field_id = item_field_id(item)
    return FieldChange(
        field=field,
        field_id=field_id,
        from_value=text(item, "from"),
        from_string=text(item, "fromString"),
        to_value=text(item, "to"),
        to_string=text(item, "toString"),
        is_noise=field.lower() in _NOISE_FIELDS or (field_id or "").lower() in _NOISE_FIELDS,
    )


def changelog_user(item: dict, side: str, *, cloud: bool, current: UserRef | None) -> UserRef | None:
    """The user on one side ("from"/"to") of an assignee item.

    Cloud puts the accountId in from/to (older Cloud: a username there plus tmp*AccountId); DC puts the
    user key. When the issue's current assignee carries that id we return it, since it has full details.
    """
    raw = text(item, side)
    tmp = text(item, "tmpFromAccountId" if side == "from" else "tmpToAccountId")
    display = text(item, "fromString" if side == "from" else "toString")
    if not raw and not tmp:
        return None
    if current is not None and ({raw, tmp} & set(current.ids)):
        return current
    if tmp:
        return UserRef(account_id=tmp, key=raw, display_name=display)
    if cloud:
        return UserRef(account_id=raw, display_name=display)
    return UserRef(key=raw, display_name=display)
