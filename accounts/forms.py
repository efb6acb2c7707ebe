from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password

from accounts import services
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

    def __init__(self, *args, role: Role | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.role = role

    def clean_name(self):
        name = self.cleaned_data["name"]
        # Role names are unique in the database; two that differ only in case would confuse the people page.
        taken = Role.objects.filter(name__iexact=name)
        if self.role is not None:
            taken = taken.exclude(pk=self.role.pk)
        if taken.exists():
            raise forms.ValidationError("A role with this name exists already; choose another name.")
        return name


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    role = forms.ModelChoiceField(queryset=Role.objects.order_by("name"), required=False)
    jira_account_id = forms.CharField(max_length=128, required=False, help_text="The user's own Jira account id.")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=password_validators_help_text_html(),
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with this name exists already.")
        return username

    def clean(self):
        data = super().clean()
        if data.get("password"):
            # The same validators as every other place a password is set; the candidate user lets them
            # refuse a password that is merely the username or email with a digit added.
            candidate = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                validate_password(data["password"], candidate)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class LoginUnlockForm(forms.Form):
    username = forms.CharField(max_length=150)
    ip_address = forms.GenericIPAddressField(required=False)

class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “deploy script”.")


class PersonForm(forms.Form):
    email = forms.EmailField(required=False)
    jira_account_id = forms.CharField(
        max_length=128, required=False, label="Jira account id",
        help_text="What this person may see follows what this Jira account may browse.",
    )


class PersonAccessForm(forms.Form):
    """One person's access: a role, or (no role) exactly the permissions ticked."""

    role = forms.ModelChoiceField(
        queryset=Role.objects.order_by("name"), required=False, empty_label="Custom: the permissions ticked below"
    )
    permissions = forms.MultipleChoiceField(
        choices=PERMISSION_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )


class PasswordResetForm(forms.Form):
    password = forms.CharField(
        label="New password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Tell the person by a channel you trust; they can change it under “My password”.",
    )


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Who")
    action = forms.CharField(required=False, max_length=60, widget=forms.TextInput(attrs={"placeholder": "person."}))
    target = forms.CharField(required=False, max_length=255, label="Changed")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


ATLASSIAN_REQUIRED = (
    "People sign in to this service with Atlassian: use the button below. Password sign-in is kept for administrators."
)


class SignInForm(AuthenticationForm):
    """The password sign-in, refused to non-admins while the policy requires Sign in with Atlassian."""

    atlassian_required = False

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not services.password_sign_in_allowed(user):
            self.atlassian_required = True
            raise forms.ValidationError(ATLASSIAN_REQUIRED, code="atlassian_required")


class JiraAccountForm(forms.Form):
    jira_account_id = forms.CharField(
        max_length=128, required=False, label="Jira account id",
        help_text="Cloud: the Atlassian account id (in the person's Jira profile URL); Data Center: the user key. "
        "Empty: not mapped.",
    )


class SignInPolicyForm(forms.Form):
    atlassian_required = forms.BooleanField(
        required=False, label="Require Sign in with Atlassian for everyone but administrators"
    )
    create_accounts = forms.BooleanField(
        required=False, label="Create an account for a Jira user who signs in with Atlassian and has none"
    )
    new_account_role = forms.ModelChoiceField(
        queryset=Role.objects.order_by("name"), required=False, label="Role of such new accounts"
    )
