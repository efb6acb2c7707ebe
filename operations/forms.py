from django import forms
from django.core.validators import validate_email

from connector.url_safety import UnsafeURL, validate_connection_url
from operations.models import AlertSettings


class AlertSettingsForm(forms.ModelForm):
    """Where alerts go. The webhook URL is a secret: never shown back; left empty it keeps the saved one."""

    webhook_url = forms.CharField(
        required=False, max_length=1000, label="Webhook URL (Slack-compatible)",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "https://hooks.slack.com/services/…"}),
        help_text="Receives {\"text\": …} as JSON. Leave empty to keep the saved URL.",
    )
    clear_webhook = forms.BooleanField(required=False, label="Remove the saved webhook URL")

    class Meta:
        model = AlertSettings
        fields = ["enabled", "emails", "silence_hours", "failed_deliveries", "worker_check"]
        widgets = {"emails": forms.Textarea(attrs={"rows": 3, "placeholder": "ops@example.com"})}
        labels = {"enabled": "Send alerts", "emails": "Email addresses",
                  "silence_hours": "Hours without a webhook before alerting",
                  "failed_deliveries": "Alert when deliveries fail permanently",
                  "worker_check": "Alert when no worker answers"}
        help_texts = {"failed_deliveries": "", "worker_check": "Workers answer a heartbeat every check."}

    def clean_emails(self):
        lines = [line.strip() for line in self.cleaned_data["emails"].splitlines() if line.strip()]
        for line in lines:
            try:
                validate_email(line)
            except forms.ValidationError:
                raise forms.ValidationError(f"“{line}” is not an email address.") from None
        return "\n".join(lines)

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"].strip()
        if not url:
            return ""
        try:
            validate_connection_url(url, require_resolvable=False)
        except UnsafeURL as exc:
            raise forms.ValidationError(exc.message) from None
        return url  # kept whole: an incoming webhook's path and query carry its token

    def save(self, commit=True):
        config = super().save(commit=False)
        if self.cleaned_data["clear_webhook"]:
            config.webhook_url = ""
        elif self.cleaned_data["webhook_url"]:
            config.webhook_url = self.cleaned_data["webhook_url"]
        if commit:
            config.save()
        return config
