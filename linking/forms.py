from django import forms


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
