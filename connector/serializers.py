"""REST representations of the connections. Secrets are write-only: accepted on input, never in output."""

from rest_framework import serializers

from connector.connections.services import PROJECT_TOGGLES
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from connector.validators import validate_login_email, validate_token

HEALTH_FIELDS = ("health", "health_error", "health_checked_at")


class JiraSiteSerializer(serializers.ModelSerializer):
    api_token = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=True, validators=[validate_token]
    )
    base_url = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = JiraSite
        fields = (
            "id",
            "public_id",
            "name",
            "base_url",
            "deployment",
            "account_email",
            "api_token",
            "has_credentials",
            "app_account_id",
            "app_display_name",
            "app_avatar_url",
            "app_account_type",
            "webhook_registered_at",
            *HEALTH_FIELDS,
        )
        read_only_fields = (
            "public_id",
            "app_account_id",
            "app_display_name",
            "app_avatar_url",
            "app_account_type",
            "webhook_registered_at",
            *HEALTH_FIELDS,
        )
        extra_kwargs = {"account_email": {"validators": [validate_login_email]}}

    def get_has_credentials(self, site: JiraSite) -> bool:
        return bool(site.api_token)


class IntercomWorkspaceSerializer(serializers.ModelSerializer):
    access_token = serializers.CharField(write_only=True, required=False, allow_blank=True, validators=[validate_token])
    client_secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    api_base_url = serializers.CharField(required=False, allow_blank=True)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    has_credentials = serializers.SerializerMethodField()

    class Meta:
        model = IntercomWorkspace
        fields = (
            "id",
            "public_id",
            "name",
            "workspace_id",
            "region",
            "api_base_url",
            "access_token",
            "client_secret",
            "has_credentials",
            "app_admin_id",
            "app_admin_name",
            *HEALTH_FIELDS,
        )
        read_only_fields = ("public_id", "workspace_id", "app_admin_id", "app_admin_name", *HEALTH_FIELDS)

    def get_has_credentials(self, workspace: IntercomWorkspace) -> bool:
        return bool(workspace.access_token)


class NoteAuthorSerializer(serializers.Serializer):
    admin_id = serializers.CharField()


class ProjectConnectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProjectConnection
        fields = (
            "id",
            "site",
            "project_id",
            "project_key",
            "project_name",
            "workspace",
            *PROJECT_TOGGLES,
            "created_at",
        )
        read_only_fields = ("project_key", "project_name", "created_at")
