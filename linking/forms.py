from django import forms
from django.core.validators import MaxValueValidator

from linking.models import SupportSettings


class CommentForm(forms.Form):
    body = forms.CharField(max_length=20_000, strip=True, error_messages={"required": "Write a message first."})
    message_type = forms.ChoiceField(choices=[("note", "Internal note"), ("comment", "Reply to the customer")],
                                     required=False)
    markup = forms.ChoiceField(choices=[("plain", "Plain text"), ("wiki", "Jira wiki markup")], required=False)
    conversations = forms.MultipleChoiceField(required=False)  # link ids; checked against the links
    form_token = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, link_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["conversations"].choices = [(str(pk), label) for pk, label in link_choices]

    def clean_message_type(self) -> str:
        return self.cleaned_data.get("message_type") or "note"

    def clean_markup(self) -> str:
        return self.cleaned_data.get("markup") or "plain"


class SupportSettingsForm(forms.ModelForm):
    """A project's tracker tickets and customer's voice. The tracker type is one of the workspace's Tracker
    ticket types (the choices come from Intercom; the current value stays offered when Intercom cannot answer)."""

    tracker_ticket_type_id = forms.ChoiceField(required=False, label="Tracker ticket type")

    class Meta:
        model = SupportSettings
        fields = [
            "tracker_ticket_type_id", "tracker_auto_create", "tracker_contact_email", "jira_key_attribute",
            "voice_enabled", "voice_visibility", "voice_visibility_value", "voice_window_seconds",
        ]
        labels = {
            "tracker_auto_create": "Create the tracker ticket when an issue gets its first link",
            "tracker_contact_email": "Contact the tracker tickets are created for",
            "jira_key_attribute": "Ticket attribute that holds the Jira key",
            "voice_enabled": "Post customers' replies in linked conversations as Jira comments",
            "voice_visibility": "Who sees those comments",
            "voice_visibility_value": "Role or group name",
            "voice_window_seconds": "Gather replies for (seconds) into one comment per issue",
        }
        help_texts = {
            "tracker_contact_email": "Intercom creates a ticket for a contact. Empty: the customer of the "
            "conversation whose link asked for the tracker.",
            "jira_key_attribute": "Set where the ticket type has an attribute of that name; left alone otherwise.",
        }

    def __init__(self, *args, ticket_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "None: no tracker tickets")] + [(str(t["id"]), t["name"]) for t in ticket_types]
        current = self.instance.tracker_ticket_type_id if self.instance else ""
        if current and current not in {value for value, _ in choices}:
            choices.append((current, f"Ticket type {current} (as saved)"))
        self.fields["tracker_ticket_type_id"].choices = choices
        self.fields["voice_window_seconds"].max_value = 3600
        self.fields["voice_window_seconds"].validators.append(MaxValueValidator(3600))

    def clean(self):
        data = super().clean()
        if data.get("voice_visibility") in ("role", "group") and not (data.get("voice_visibility_value") or "").strip():
            self.add_error("voice_visibility_value", "Name the role or group that may see the comments.")
        return data
