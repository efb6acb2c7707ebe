from django import forms
from django.contrib.auth import get_user_model

from accounts.models import Role
from accounts.permissions import PERMISSIONS

User = get_user_model()
PERMISSION_CHOICES = [(p.code, f"{p.section}: {p.label}") for p in PERMISSIONS]


class BulkPermissionsForm(forms.Form):
    """Edit several users at once: give them a role, or grant and revoke specific permissions."""

    users = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True), widget=forms.CheckboxSelectMultiple
    )
    role = forms.ModelChoiceField(queryset=Role.objects.order_by("name"), required=False, empty_label="— keep —")
    grant = forms.MultipleChoiceField(choices=PERMISSION_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)
    revoke = forms.MultipleChoiceField(choices=PERMISSION_CHOICES, required=False, widget=forms.CheckboxSelectMultiple)

    def clean(self):
        data = super().clean()
        if not data.get("role") and not data.get("grant") and not data.get("revoke"):
            raise forms.ValidationError("Choose a role, or permissions to grant or revoke.")
        if data.get("role") and (data.get("grant") or data.get("revoke")):
            raise forms.ValidationError("Either give a role or change specific permissions, not both at once.")
        return data


class RoleForm(forms.Form):
    name = forms.CharField(max_length=150)
    permissions = forms.MultipleChoiceField(
        choices=PERMISSION_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ModelChoiceField(queryset=Role.objects.order_by("name"), required=False)
    jira_account_id = forms.CharField(max_length=128, required=False, help_text="The user's own Jira account id.")
    password = forms.CharField(widget=forms.PasswordInput, min_length=12)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with this name exists already.")
        return username


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “deploy script”.")
