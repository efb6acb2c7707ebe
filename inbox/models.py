"""What an admin sets for the Intercom Inbox app, per connected project."""

from django.db import models

from connector.models import ProjectConnection


class CreateIssueForm(models.Model):
    """The create-issue form the Inbox app shows for one connected project, and who may use it.

    Summary and description are always asked; `fields` are the other Jira fields the admin chose from Jira's
    createmeta for the issue type, each {"id", "name", "kind", "required", "default", "options": [{"id",
    "name"}]} (kind: option, options, string, strings, number). With no teammate and no team listed, every
    teammate may create and link issues in the project.
    """

    project = models.OneToOneField(ProjectConnection, on_delete=models.CASCADE, related_name="inbox_form")
    issue_type_id = models.CharField(max_length=32, blank=True)
    issue_type_name = models.CharField(max_length=255, blank=True)
    fields = models.JSONField(default=list, blank=True)
    allowed_admin_ids = models.JSONField(default=list, blank=True)  # Intercom teammate ids, as strings
    allowed_team_ids = models.JSONField(default=list, blank=True)  # Intercom team ids, as strings
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"create-issue form of {self.project.project_key}"

    @property
    def restricted(self) -> bool:
        return bool(self.allowed_admin_ids or self.allowed_team_ids)

    def allows(self, admin_id: str, team_ids: list[str]) -> bool:
        if not self.restricted:
            return True
        return str(admin_id) in self.allowed_admin_ids or bool(set(map(str, team_ids)) & set(self.allowed_team_ids))
