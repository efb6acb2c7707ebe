"""Forms of the rule editor, the delivery log filters, test notes and comments from the issue page."""

from __future__ import annotations

from datetime import UTC

from django import forms
from django.utils import timezone

from connector.models import IntercomWorkspace, ProjectConnection
from notifications.models import NotificationRule, Trigger
from notifications.rendering import MAX_TEMPLATE_CHARS, TemplateProblem, validate_template
from notifications.selectors import rules_overlapping
from notifications.ticket_actions import ATTRIBUTE_SOURCES, state_map_problems

VISIBILITY_CHOICES = [
    ("public", "Public comments"),
    ("internal", "Internal comments (Jira Service Management)"),
    ("restricted", "Comments restricted to a role or group"),
]
ASSIGNEE_TYPES = [("admin", "Admin (teammate)"), ("team", "Team")]


def _split(text: str) -> list[str]:
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


class ListField(forms.CharField):
    """A comma-separated list, stored as a JSON list."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        return _split(super().to_python(value))


class RuleForm(forms.ModelForm):
    """The rule editor. Actions are edited as one checkbox per action with its options, stored as a list."""

    project = forms.ModelChoiceField(
        queryset=ProjectConnection.objects.select_related("site").order_by("project_key"),
        required=False,
        empty_label="All projects",
        help_text="“All projects” applies the rule to every connected project.",
    )
    from_status = forms.CharField(
        required=False, max_length=100, label="From status",
        widget=forms.TextInput(attrs={"placeholder": "any — or a name, an id, or category:done",
                                      "list": "jira-statuses"}),
    )
    to_status = forms.CharField(
        required=False, max_length=100, label="To status",
        widget=forms.TextInput(attrs={"placeholder": "any — or a name, an id, or category:done",
                                      "list": "jira-statuses"}),
    )
    fields = ListField(required=False, label="Fields", help_text="Field names or ids, comma-separated; empty = any.")
    issue_types = ListField(required=False, label="Issue types", help_text="Any of these; empty = any.",
                            widget=forms.TextInput(attrs={"list": "jira-issue-types"}))
    priorities = ListField(required=False, label="Priorities", help_text="Any of these; empty = any.",
                           widget=forms.TextInput(attrs={"list": "jira-priorities"}))
    labels = ListField(required=False, label="Labels", help_text="The issue has any of these; empty = any.")
    comment_visibility = forms.MultipleChoiceField(
        choices=VISIBILITY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, initial=["public"],
        label="Comments that trigger the rule",
    )
    coalesce_seconds = forms.IntegerField(
        min_value=0, max_value=3600, initial=0, label="Coalescing window (seconds)",
        help_text="0 = off. Otherwise events on the same issue within the window become one note.",
    )
    template = forms.CharField(
        required=False, max_length=MAX_TEMPLATE_CHARS, widget=forms.Textarea(attrs={"rows": 9, "spellcheck": "false"}),
        help_text="Empty = the default note for the trigger.",
    )
    confirm_unknown = forms.BooleanField(
        required=False, label="Save with the unknown placeholders anyway (they render empty)",
    )

    # Actions, one block each; stored in NotificationRule.actions in this order.
    act_note = forms.BooleanField(required=False, initial=True, label="Add an internal note")
    act_reply = forms.BooleanField(required=False, label="Send a customer-visible reply")
    act_reopen = forms.BooleanField(required=False, label="Reopen the conversation if it is closed")
    reopen_unassign = forms.BooleanField(required=False, label="…and unassign it when reopening")
    act_close = forms.BooleanField(required=False, label="Close the conversation")
    act_snooze = forms.BooleanField(required=False, label="Snooze the conversation")
    snooze_minutes = forms.IntegerField(required=False, min_value=1, max_value=60 * 24 * 365, label="for (minutes)")
    snooze_until = forms.DateTimeField(
        required=False, label="or until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    act_assign = forms.BooleanField(required=False, label="Assign the conversation")
    assignee_type = forms.ChoiceField(choices=ASSIGNEE_TYPES, required=False, label="to a")
    assignee_id = forms.CharField(required=False, max_length=64, label="with id")
    act_tag = forms.BooleanField(required=False, label="Add a tag")
    tag_id = forms.CharField(required=False, max_length=64, label="tag id")
    act_ticket_state = forms.BooleanField(required=False, label="Set the state of linked tickets")
    ticket_state_map = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        label="Status → ticket state",
        help_text="One per line, e.g. “In Review = waiting_on_customer” (a status id, name or category:done). "
        "Otherwise to do → submitted, in progress → in_progress, done → resolved.",
    )
    act_ticket_attribute = forms.BooleanField(required=False, label="Set an attribute of linked tickets")
    ticket_attribute = forms.CharField(required=False, max_length=100, label="attribute name",
                                       help_text="Only tickets whose type has it are changed.")
    ticket_attribute_from = forms.ChoiceField(choices=list(ATTRIBUTE_SOURCES.items()), required=False, label="to")

    class Meta:
        model = NotificationRule
        fields = [
            "name", "project", "enabled", "stop_after", "trigger", "from_status", "to_status", "fields",
            "comment_visibility", "issue_types", "priorities", "labels", "coalesce_seconds", "template",
        ]
        widgets = {"trigger": forms.Select()}

    ACTION_ORDER = ("note", "reply", "reopen", "close", "snooze", "assign", "tag", "ticket_state", "ticket_attribute")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.template_problems: list[TemplateProblem] = []
        self.fields["trigger"].choices = Trigger.choices
        rule = self.instance
        if rule.pk:
            self._load_actions(rule.actions)
            self.initial["comment_visibility"] = rule.comment_visibility or ["public"]
        elif "trigger" not in self.initial:
            self.initial["trigger"] = Trigger.ISSUE_TRANSITIONED

    def _load_actions(self, actions: list[dict]) -> None:
        self.initial["act_note"] = False
        for action in actions:
            kind = action.get("type")
            if kind not in self.ACTION_ORDER:
                continue
            self.initial[f"act_{kind}"] = True
            if kind == "reopen":
                self.initial["reopen_unassign"] = bool(action.get("unassign"))
            elif kind == "snooze":
                if action.get("seconds"):
                    self.initial["snooze_minutes"] = int(action["seconds"]) // 60
                if action.get("until"):
                    self.initial["snooze_until"] = action["until"][:16]
            elif kind == "assign":
                self.initial["assignee_type"] = action.get("assignee_type", "admin")
                self.initial["assignee_id"] = action.get("assignee_id", "")
            elif kind == "tag":
                self.initial["tag_id"] = action.get("tag_id", "")
            elif kind == "ticket_state":
                self.initial["ticket_state_map"] = "\n".join(f"{k} = {v}" for k, v in (action.get("map") or {}).items())
            elif kind == "ticket_attribute":
                self.initial["ticket_attribute"] = action.get("attribute", "")
                self.initial["ticket_attribute_from"] = action.get("from", "key")

    def clean_template(self) -> str:
        text = self.cleaned_data.get("template") or ""
        self.template_problems = validate_template(text) if text.strip() else []
        blocking = [p for p in self.template_problems if p.blocking]
        if blocking:
            raise forms.ValidationError([str(p) for p in blocking])
        unknown = [p for p in self.template_problems if not p.blocking]
        if unknown and not self.data.get("confirm_unknown"):
            # A typo renders as nothing: the agent reads "moved to ." Saving one takes a deliberate tick.
            raise forms.ValidationError(
                [str(p) for p in unknown] + ["Correct the placeholder, or tick “Save with the unknown placeholders "
                                             "anyway” if it is meant to stay."],
                code="unknown_placeholder",
            )
        return text

    def clean_comment_visibility(self) -> list[str]:
        return self.cleaned_data.get("comment_visibility") or ["public"]

    def clean(self):
        data = super().clean()
        actions = self._actions(data)
        if not actions and not self.errors:
            raise forms.ValidationError("Choose at least one action.")
        project = data.get("project")
        if data.get("act_reply") and project and not project.customer_replies_allowed:
            self.add_error(
                "act_reply",
                f"Project {project.project_key} does not allow customer-visible replies. Allow them on the "
                "project connection first, or use an internal note.",
            )
        data["actions"] = actions
        return data

    def _actions(self, data: dict) -> list[dict]:
        actions: list[dict] = []
        for kind in self.ACTION_ORDER:
            if not data.get(f"act_{kind}"):
                continue
            action: dict = {"type": kind}
            if kind == "reopen" and data.get("reopen_unassign"):
                action["unassign"] = True
            elif kind == "snooze":
                minutes, until = data.get("snooze_minutes"), data.get("snooze_until")
                if bool(minutes) == bool(until):
                    self.add_error("snooze_minutes", "Snooze for a number of minutes or until a date (one of them).")
                    continue
                if until:
                    until = until if timezone.is_aware(until) else until.replace(tzinfo=UTC)
                    action["until"] = until.astimezone(UTC).isoformat()
                else:
                    action["seconds"] = minutes * 60
            elif kind == "assign":
                if not (data.get("assignee_id") or "").strip():
                    self.add_error("assignee_id", "Give the id of the admin or team to assign to.")
                    continue
                action["assignee_type"] = data.get("assignee_type") or "admin"
                action["assignee_id"] = data["assignee_id"].strip()
            elif kind == "tag":
                if not (data.get("tag_id") or "").strip():
                    self.add_error("tag_id", "Give the id of the Intercom tag to add.")
                    continue
                action["tag_id"] = data["tag_id"].strip()
            elif kind == "ticket_state":
                state_map = _state_map(data.get("ticket_state_map") or "")
                problems = state_map_problems(state_map) if state_map is not None else ["Write “status = state”."]
                if problems:
                    self.add_error("ticket_state_map", problems[0])
                    continue
                if state_map:
                    action["map"] = state_map
            elif kind == "ticket_attribute":
                if not (data.get("ticket_attribute") or "").strip():
                    self.add_error("ticket_attribute", "Give the name of the ticket type's attribute to set.")
                    continue
                action["attribute"] = data["ticket_attribute"].strip()
                action["from"] = data.get("ticket_attribute_from") or "key"
            actions.append(action)
        return actions

    def save(self, commit: bool = True) -> NotificationRule:
        rule = super().save(commit=False)
        rule.actions = self.cleaned_data["actions"]
        if rule.project_id:  # a kept rule given a project of its own is no longer waiting for its old one
            rule.detached_site_id, rule.detached_project_id, rule.detached_project_key = None, "", ""
        if commit:
            rule.save()
        return rule

    @property
    def warnings(self) -> list[str]:
        """Choices that are allowed but deserve a second look."""
        data = getattr(self, "cleaned_data", None) or {}
        out = []
        visibility = set(data.get("comment_visibility") or [])
        if visibility - {"public"}:
            out.append("Internal or restricted Jira comments will be copied into Intercom conversations.")
        if data.get("act_reply"):
            out.append("Replies are visible to customers." + (
                " Projects that don't allow replies skip this action." if not data.get("project") else ""))
        out += [
            f"The enabled rule “{other.name}” also posts into the same conversations for the same events: each "
            "conversation would get two notes. Narrow one of them, or tick “stop after this rule” on the first."
            for other in rules_overlapping(self.instance, data)
        ]
        return out


class PreviewForm(forms.Form):
    template = forms.CharField(required=False, max_length=MAX_TEMPLATE_CHARS)
    trigger = forms.ChoiceField(choices=Trigger.choices, required=False)
    issue = forms.CharField(required=False, max_length=64)


class IssueKeyForm(forms.Form):
    key = forms.RegexField(
        regex=r"^\s*[A-Za-z][A-Za-z0-9_]{0,30}-[1-9][0-9]{0,9}\s*$", max_length=64, label="Issue key",
        error_messages={"invalid": "Enter a Jira issue key like SUP-123."},
        widget=forms.TextInput(attrs={"placeholder": "SUP-123"}),
    )

    def clean_key(self) -> str:
        return self.cleaned_data["key"].strip().upper()


class TestNoteForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=IntercomWorkspace.objects.order_by("name"), label="Workspace")
    conversation_id = forms.RegexField(
        regex=r"^\s*\d{1,32}\s*$", label="Conversation id",
        error_messages={"invalid": "A conversation id is a number, as in the Intercom inbox URL."},
    )
    issue = forms.CharField(required=False, max_length=64, label="Render against issue (optional)")




def _state_map(text: str) -> dict | None:
    """"status = ticket state" lines as a map; None when a line has no "="."""
    state_map = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        status, sep, state = line.partition("=")
        if not sep or not status.strip():
            return None
        state_map[status.strip()] = state.strip()
    return state_map
