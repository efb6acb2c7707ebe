"""Forms of the connection pages. Secret fields are write-only: never rendered back, blank keeps the stored one."""

from django import forms
from django.conf import settings

from connector.connections.services import PROJECT_TOGGLES
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from connector.validators import validate_login_email, validate_token


def _secret(label: str, help_text: str, *, token: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        validators=[validate_token] if token else [],
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class JiraSiteForm(forms.Form):
    name = forms.CharField(
        max_length=100, required=False, help_text="How this site is shown here; defaults to its host."
    )
    base_url = forms.CharField(
        label="Base URL",
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://your-team.atlassian.net"}),
        help_text="https only. Private and internal addresses are refused.",
    )
    deployment = forms.ChoiceField(choices=JiraSite.Deployment.choices, widget=forms.RadioSelect)
    account_email = forms.EmailField(
        label="App user's account email",
        required=False,
        validators=[validate_login_email],
        help_text="Jira Cloud only: the email of the dedicated app user.",
    )
    api_token = _secret(
        "API token or personal access token",
        "Cloud: an API token of the app user. Data Center: a personal access token. Stored encrypted; "
        "never shown again. Leave blank to keep the stored token.",
        token=True,
    )

    def __init__(self, *args, site: JiraSite | None = None, **kwargs):
        initial = kwargs.pop("initial", {}) or {}
        if site is not None:
            initial = {
                "name": site.name,
                "base_url": site.base_url,
                "deployment": site.deployment,
                "account_email": site.account_email,
                **initial,
            }
        super().__init__(*args, initial=initial or {"deployment": JiraSite.Deployment.CLOUD}, **kwargs)
        if site is not None and site.api_token:
            self.fields["api_token"].widget.attrs["placeholder"] = "•••••• stored — leave blank to keep"


class IntercomWorkspaceForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="Defaults to the workspace's name in Intercom.")
    region = forms.ChoiceField(
        choices=IntercomWorkspace.Region.choices,
        help_text="Where the workspace is hosted: US api.intercom.io, Europe api.eu.intercom.io, "
        "Australia api.au.intercom.io.",
    )
    access_token = _secret(
        "Access token",
        "From the Developer Hub: your app → Authentication. Stored encrypted; leave blank to keep the stored one.",
        token=True,
    )
    client_secret = _secret(
        "Client secret",
        "From your app → Basic information. Verifies webhooks and Inbox app requests. Leave blank to keep.",
    )
    api_base_url = forms.CharField(
        label="API URL override",
        required=False,
        help_text="Only for the simulators and tests; real workspaces use the region's host.",
    )

    def __init__(self, *args, workspace: IntercomWorkspace | None = None, **kwargs):
        initial = {"region": IntercomWorkspace.Region.US}
        if workspace is not None:
            initial = {"name": workspace.name, "region": workspace.region, "api_base_url": workspace.api_base_url}
        super().__init__(*args, initial=initial, **kwargs)
        if not settings.ALLOW_PRIVATE_URLS:
            del self.fields["api_base_url"]
        if workspace is not None:
            for name in ("access_token", "client_secret"):
                if getattr(workspace, name):
                    self.fields[name].widget.attrs["placeholder"] = "•••••• stored — leave blank to keep"


class NoteAuthorForm(forms.Form):
    admin_id = forms.ChoiceField(label="Write notes as")

    def __init__(self, *args, admins: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["admin_id"].choices = [
            (str(a["id"]), f"{a.get('name') or a['id']} ({a.get('email') or 'no email'})") for a in admins
        ]


TOGGLE_LABELS = {
    "linking_enabled": ("Linking", "Agents can link conversations to issues of this project."),
    "auto_link_urls": ("Auto-link conversation URLs", "An Intercom conversation URL pasted in an issue links it."),
    "comment_from_jira": ("Comment from Jira", "Jira users can post notes into linked conversations."),
    "customer_replies_allowed": ("Customer replies allowed", "Jira users may send replies the customer sees."),
    "conversation_view": ("Conversation view", "Show linked conversations on the issue."),
}


class ProjectConnectionForm(forms.Form):
    project_id = forms.ChoiceField(label="Jira project")
    workspace = forms.ModelChoiceField(queryset=IntercomWorkspace.objects.order_by("name"), label="Intercom workspace")

    def __init__(self, *args, projects: list, connection: ProjectConnection | None = None, **kwargs):
        initial = {t: ProjectConnection._meta.get_field(t).default for t in PROJECT_TOGGLES}
        if connection is not None:
            initial = {t: getattr(connection, t) for t in PROJECT_TOGGLES}
            initial.update(project_id=connection.project_id, workspace=connection.workspace_id)
        else:
            workspaces = list(IntercomWorkspace.objects.values_list("pk", flat=True)[:2])
            if len(workspaces) == 1:  # the usual set-up: one workspace, nothing to choose
                initial["workspace"] = workspaces[0]
        super().__init__(*args, initial=initial, **kwargs)
        choices = [(p.id, f"{p.key} — {p.name}") for p in projects]
        if connection is not None and connection.project_id not in {p.id for p in projects}:
            choices.insert(0, (connection.project_id, f"{connection.project_key} — {connection.project_name}"))
        self.fields["project_id"].choices = choices
        for toggle in PROJECT_TOGGLES:
            label, help_text = TOGGLE_LABELS[toggle]
            self.fields[toggle] = forms.BooleanField(label=label, help_text=help_text, required=False)

    def toggles(self) -> dict[str, bool]:
        return {t: self.cleaned_data[t] for t in PROJECT_TOGGLES}
