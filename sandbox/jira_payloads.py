"""JSON shapes of Jira users, issues, comments and webhook bodies (Cloud and Server/DC flavours).

Webhook bodies follow the real samples in `contracts/jira-webhooks`: Cloud users carry `accountId`,
changelog items carry `fieldId` and comments `jsdPublic`; Server/DC users carry `name`/`key` and DC
comment events have no `issue`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

STATUS_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}


def jira_time(at: float | None = None) -> str:
    """Jira's timestamp format, e.g. `2019-02-15T19:11:18.321+0000`."""
    moment = datetime.fromtimestamp(at if at is not None else time.time(), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def adf(text: str) -> dict[str, Any]:
    """A plain-text Atlassian Document Format document."""
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]}
                  for line in text.split("\n\n") if line]
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_text(value: Any) -> str:
    """Flatten ADF to text (for v2 responses and webhooks); strings pass through."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("type") == "text":
            return value.get("text", "")
        inner = "".join(adf_text(c) for c in value.get("content", []))
        return inner + ("\n\n" if value.get("type") == "paragraph" else "")
    return ""


def as_version(value: Any, v3: bool) -> Any:
    """Rich text as the API version returns it: ADF in v3 (Cloud), wiki text in v2."""
    if value is None:
        return None
    if v3:
        return value if isinstance(value, dict) else adf(value)
    return adf_text(value).strip("\n") if isinstance(value, dict) else value


def user_json(user: dict[str, Any] | None, base: str, cloud: bool) -> dict[str, Any] | None:
    if user is None:
        return None
    avatars = {size: f"{base}/secure/useravatar?size={size}" for size in ("48x48", "24x24", "16x16", "32x32")}
    if cloud:
        return {"self": f"{base}/rest/api/2/user?accountId={user['accountId']}", "accountId": user["accountId"],
                "avatarUrls": avatars, "displayName": user["displayName"], "active": user["active"],
                "timeZone": "Europe/London", "accountType": user["accountType"]}
    return {"self": f"{base}/rest/api/2/user?username={user['name']}", "name": user["name"], "key": user["key"],
            "emailAddress": user["emailAddress"], "avatarUrls": avatars, "displayName": user["displayName"],
            "active": user["active"], "timeZone": "Europe/London"}


def status_json(status: dict[str, Any], base: str) -> dict[str, Any]:
    category = STATUS_CATEGORIES[status["category"]]
    return {"self": f"{base}/rest/api/2/status/{status['id']}", "description": "", "iconUrl": f"{base}/",
            "name": status["name"], "id": status["id"],
            "statusCategory": {"self": f"{base}/rest/api/2/statuscategory/{category['id']}", **category}}


def project_json(project: dict[str, Any], base: str) -> dict[str, Any]:
    return {"self": f"{base}/rest/api/2/project/{project['id']}", "id": project["id"], "key": project["key"],
            "name": project["name"], "projectTypeKey": project.get("type", "software"),
            "simplified": project["style"] == "next-gen", "style": project["style"],
            "avatarUrls": {"48x48": f"{base}/secure/projectavatar?avatarId=10324"}}


def comment_json(comment: dict[str, Any], users: dict[str, dict[str, Any]], issue_id: str, base: str,
                 cloud: bool, v3: bool) -> dict[str, Any]:
    result = {"self": f"{base}/rest/api/2/issue/{issue_id}/comment/{comment['id']}", "id": comment["id"],
              "author": user_json(users.get(comment["author"]), base, cloud),
              "body": as_version(comment["body"], v3),
              "updateAuthor": user_json(users.get(comment["update_author"]), base, cloud),
              "created": comment["created"], "updated": comment["updated"]}
    if comment.get("visibility"):
        result["visibility"] = dict(comment["visibility"])
    if cloud:
        result["jsdPublic"] = comment["jsd_public"]
    return result


def changelog_item(field: str, from_id: Any, from_string: Any, to_id: Any, to_string: Any, cloud: bool,
                   field_id: str | None = None, fieldtype: str = "jira") -> dict[str, Any]:
    item = {"field": field, "fieldtype": fieldtype, "from": from_id, "fromString": from_string, "to": to_id,
            "toString": to_string}
    if cloud and field_id:
        item["fieldId"] = field_id
    return item
