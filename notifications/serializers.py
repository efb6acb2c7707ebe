"""REST representations of rules and deliveries; rules are validated like the editor validates them."""

from rest_framework import serializers

from deliveries.models import RULE_ACTIONS
from notifications.models import NotificationRule
from notifications.rendering import validate_template
from notifications.ticket_actions import ATTRIBUTE_SOURCES, state_map_problems

ACTION_OPTIONS = {
    "note": set(),
    "reply": set(),
    "close": set(),
    "reopen": {"unassign"},
    "snooze": {"seconds", "until"},
    "assign": {"assignee_id", "assignee_type"},
    "tag": {"tag_id"},
    "ticket_state": {"map"},
    "ticket_attribute": {"attribute", "from"},
}
VISIBILITIES = {"public", "internal", "restricted"}


def _strings(value, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise serializers.ValidationError(f"{name} is a list of strings.")
    return [v.strip() for v in value if v.strip()]


class RuleSerializer(serializers.ModelSerializer):
    template_warnings = serializers.SerializerMethodField()

    class Meta:
        model = NotificationRule
        fields = [
            "id", "name", "project", "position", "enabled", "stop_after", "trigger", "from_status", "to_status",
            "fields", "comment_visibility", "issue_types", "priorities", "labels", "actions", "template",
            "template_warnings", "coalesce_seconds", "detached_project_key", "created_at", "updated_at",
        ]
        # detached_project_key: kept from that disconnected project, not a rule for every project.
        read_only_fields = ["detached_project_key", "created_at", "updated_at"]

    def get_template_warnings(self, rule: NotificationRule) -> list[str]:
        return [str(p) for p in validate_template(rule.template) if not p.blocking] if rule.template else []

    def validate_template(self, text: str) -> str:
        blocking = [str(p) for p in validate_template(text) if p.blocking] if text else []
        if blocking:
            raise serializers.ValidationError(blocking)
        return text

    def validate_fields(self, value):
        return _strings(value, "fields")

    def validate_issue_types(self, value):
        return _strings(value, "issue_types")

    def validate_priorities(self, value):
        return _strings(value, "priorities")

    def validate_labels(self, value):
        return _strings(value, "labels")

    def validate_comment_visibility(self, value):
        value = _strings(value, "comment_visibility") or ["public"]
        unknown = set(value) - VISIBILITIES
        if unknown:
            raise serializers.ValidationError(f"Unknown visibility: {', '.join(sorted(unknown))}.")
        return value

    def validate_coalesce_seconds(self, value: int) -> int:
        if value > 3600:
            raise serializers.ValidationError("At most 3600 seconds.")
        return value

    def validate_actions(self, actions):
        if not isinstance(actions, list) or not actions:
            raise serializers.ValidationError("Give at least one action.")
        for action in actions:
            kind = action.get("type") if isinstance(action, dict) else None
            if kind not in RULE_ACTIONS:
                raise serializers.ValidationError(f"Unknown action {kind!r}; use one of {', '.join(RULE_ACTIONS)}.")
            extra = set(action) - {"type"} - ACTION_OPTIONS[kind]
            if extra:
                raise serializers.ValidationError(f"{kind} takes no option {', '.join(sorted(extra))}.")
            if kind == "snooze" and bool(action.get("seconds")) == bool(action.get("until")):
                raise serializers.ValidationError("snooze needs either seconds or until.")
            if kind == "assign" and not str(action.get("assignee_id") or "").strip():
                raise serializers.ValidationError("assign needs assignee_id.")
            if kind == "assign" and action.get("assignee_type", "admin") not in ("admin", "team"):
                raise serializers.ValidationError("assignee_type is admin or team.")
            if kind == "tag" and not str(action.get("tag_id") or "").strip():
                raise serializers.ValidationError("tag needs tag_id.")
            if kind == "ticket_state" and action.get("map") is not None:
                problems = state_map_problems(action["map"])
                if problems:
                    raise serializers.ValidationError(problems[0])
            if kind == "ticket_attribute" and not str(action.get("attribute") or "").strip():
                raise serializers.ValidationError("ticket_attribute needs attribute: a ticket type attribute name.")
            if kind == "ticket_attribute" and action.get("from", "key") not in ATTRIBUTE_SOURCES:
                raise serializers.ValidationError(f"from is one of {', '.join(ATTRIBUTE_SOURCES)}.")
        return actions

    def validate(self, data):
        if self.instance is None and not data.get("comment_visibility"):
            data["comment_visibility"] = ["public"]
        project = data.get("project", getattr(self.instance, "project", None))
        actions = data.get("actions", getattr(self.instance, "actions", []))
        if project and not project.customer_replies_allowed and any(a.get("type") == "reply" for a in actions):
            raise serializers.ValidationError(
                {"actions": [f"Project {project.project_key} does not allow customer-visible replies."]}
            )
        return data


