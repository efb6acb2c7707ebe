"""The Jira simulator's create screens: createmeta answers and the validation of `POST /issue`.

Every project has the same screens unless a test changes them: summary (required), description, priority
(default Medium), labels, and a "Severity" select list that a Bug must have. Refusals are Jira's
ErrorCollection, `{"errorMessages": [], "errors": {field id: message}}`, with Jira's own wording.
"""

from __future__ import annotations

from typing import Any

SEVERITY_FIELD = "customfield_10060"
SEVERITIES = [{"id": "10100", "value": "S1 - Outage"}, {"id": "10101", "value": "S2 - Degraded"},
              {"id": "10102", "value": "S3 - Minor"}]


def _meta(field_id: str, name: str, schema: dict[str, Any], *, required: bool = False,
          allowed: list[dict[str, Any]] | None = None, default: Any = None) -> dict[str, Any]:
    meta = {"fieldId": field_id, "key": field_id, "name": name, "required": required, "schema": schema,
            "hasDefaultValue": default is not None, "operations": ["set"]}
    if allowed is not None:
        meta["allowedValues"] = allowed
    if default is not None:
        meta["defaultValue"] = default
    return meta


class CreateScreens:
    """Per (project key, issue type id) the fields of the create screen; tests may add or require fields."""

    def __init__(self, base: str, priorities: dict[str, str], issue_types: dict[str, dict[str, Any]]) -> None:
        self.base = base
        self.issue_types = issue_types
        self.priorities = priorities
        self.required: dict[tuple[str, str], set[str]] = {}  # (project key, issue type id) -> extra required

    def _common(self) -> list[dict[str, Any]]:
        base = self.base
        priority_values = [{"self": f"{base}/rest/api/2/priority/{i}", "id": i, "name": n}
                           for i, n in self.priorities.items()]
        return [
            _meta("summary", "Summary", {"type": "string", "system": "summary"}, required=True),
            _meta("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}, required=True),
            _meta("project", "Project", {"type": "project", "system": "project"}, required=True),
            _meta("description", "Description", {"type": "string", "system": "description"}),
            _meta("priority", "Priority", {"type": "priority", "system": "priority"}, allowed=priority_values,
                  default=priority_values[2]),
            _meta("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
            _meta(SEVERITY_FIELD, "Severity", {"type": "option", "custom":
                  "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10060},
                  allowed=[{"self": f"{base}/rest/api/2/customFieldOption/{o['id']}", **o} for o in SEVERITIES]),
        ]

    def fields_for(self, project_key: str, issue_type_id: str) -> list[dict[str, Any]]:
        fields = self._common()
        extra = self.required.get((project_key, issue_type_id), set())
        bug = next((t["id"] for t in self.issue_types.values() if t["name"] == "Bug"), None)
        for field in fields:
            if field["fieldId"] in extra or (field["fieldId"] == SEVERITY_FIELD and issue_type_id == bug):
                field["required"] = True
        return fields

    def require(self, project_key: str, issue_type_id: str, field_id: str) -> None:
        self.required.setdefault((project_key, issue_type_id), set()).add(field_id)

    def issue_types_json(self) -> list[dict[str, Any]]:
        return [{"self": f"{self.base}/rest/api/2/issuetype/{t['id']}", "id": t["id"], "name": t["name"],
                 "description": "", "subtask": t["subtask"], "iconUrl": f"{self.base}/images/icons/task.svg"}
                for t in self.issue_types.values()]

    def validate(self, project_key: str, issue_type_id: str, fields: dict[str, Any]) -> dict[str, str]:
        """Jira's per-field complaints about a create request's `fields` (project and issue type taken out)."""
        screen = {f["fieldId"]: f for f in self.fields_for(project_key, issue_type_id)}
        errors: dict[str, str] = {}
        for field_id, value in fields.items():
            meta = screen.get(field_id)
            if meta is None:
                errors[field_id] = (f"Field '{field_id}' cannot be set. It is not on the appropriate screen, "
                                    "or unknown.")
            elif "allowedValues" in meta and value is not None:
                wanted = value if isinstance(value, dict) else {}
                if not any(str(wanted.get("id")) == str(a["id"]) or wanted.get("name", wanted.get("value"))
                           in (a.get("name"), a.get("value")) for a in meta["allowedValues"]):
                    errors[field_id] = f"Specify a valid 'id' or 'name' for {meta['name']}"
            elif field_id == "labels":
                bad = [label for label in value or [] if not isinstance(label, str) or " " in label]
                if bad:
                    errors[field_id] = f"The label '{bad[0]}' contains spaces which is invalid."
        for field_id, meta in screen.items():
            empty = fields.get(field_id) in (None, "", [], {})
            if meta["required"] and empty and field_id not in ("project", "issuetype") and field_id not in errors:
                errors[field_id] = f"{meta['name']} is required."
        return errors
