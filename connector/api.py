"""REST API for connections (`/api/connections/…`), behind "manage_connections"; writes go through services."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.access import HasPermission
from connector.connections import clients, selectors, services
from connector.connections.health import connection_check
from connector.connections.services import ConnectionFailed, ConnectionInUse
from connector.models import IntercomWorkspace, JiraSite, ProjectConnection
from connector.serializers import (
    IntercomWorkspaceSerializer,
    JiraSiteSerializer,
    NoteAuthorSerializer,
    ProjectConnectionSerializer,
)

VENDOR_DOWN = OpenApiResponse(description="The vendor could not be reached or refused; `detail` says why")


def _with_works(serializer_class):
    """The connection's representation plus `works`, the outcome of the check just run (for the schema)."""
    meta = type("Meta", (serializer_class.Meta,), {"fields": (*serializer_class.Meta.fields, "works")})
    name = f"{serializer_class.__name__.removesuffix('Serializer')}Check"
    return type(name, (serializer_class,), {"works": serializers.BooleanField(), "Meta": meta})


JiraProjects = inline_serializer(
    "JiraProject",
    many=True,
    fields={"id": serializers.CharField(), "key": serializers.CharField(), "name": serializers.CharField(),
     "team_managed": serializers.BooleanField()},
)
JiraPermissions = inline_serializer(
    "JiraPermissions",
    {
        "warnings": serializers.ListField(child=serializers.CharField()),
        "projects": inline_serializer(
            "JiraProjectPermissions",
            {
                "project_key": serializers.CharField(),
                "error": serializers.CharField(allow_null=True),
                "permissions": inline_serializer(
                    "JiraPermission",
                    {"key": serializers.CharField(), "label": serializers.CharField(),
                     "granted": serializers.BooleanField(allow_null=True)},
                    many=True,
                ),
                "excess": serializers.ListField(child=serializers.CharField()),
                "team_managed": serializers.BooleanField(allow_null=True),
            },
            many=True,
        ),
    },
)
JiraWebhookSetup = inline_serializer(
    "JiraWebhookSetup",
    {"url": serializers.CharField(), "events": serializers.ListField(child=serializers.CharField()),
     "jql": serializers.CharField(), "admin_page": serializers.CharField()},
)
IntercomAdmins = inline_serializer(
    "IntercomAdmin",
    many=True,
    fields={"id": serializers.CharField(allow_null=True), "name": serializers.CharField(allow_null=True),
     "email": serializers.CharField(allow_null=True)},
)


def _refused(failure: ConnectionFailed) -> ValidationError:
    return ValidationError({failure.field or "non_field_errors": [failure.message]})


class _ConnectionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [HasPermission("manage_connections")]

    def perform_create(self, serializer):
        serializer.instance = self._save(None, serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = self._save(serializer.instance, serializer.validated_data)

    def _save(self, instance, data):
        raise NotImplementedError

    def destroy(self, request, *args, **kwargs):
        """409 with what depends on the connection rather than deleting it silently (or a 500)."""
        try:
            self._delete(self.get_object(), confirmed=request.query_params.get("confirm") == "true")
        except ConnectionInUse as refusal:
            return Response({"detail": refusal.message, "depends": refusal.depends}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _delete(self, instance, *, confirmed: bool) -> None:
        services.connection_delete(connection=instance, confirmed=confirmed)

    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        connection = self.get_object()
        works = connection_check(connection)
        connection.refresh_from_db()
        return Response({"works": works, **self.get_serializer(connection).data})


@extend_schema_view(
    check=extend_schema(request=None, responses=_with_works(JiraSiteSerializer)),
    revoke=extend_schema(request=None),
    projects=extend_schema(responses={200: JiraProjects, 502: VENDOR_DOWN}),
    permissions=extend_schema(responses=JiraPermissions),
    webhook=extend_schema(responses=JiraWebhookSetup),
    register_webhook=extend_schema(
        request=None,
        responses={
            200: inline_serializer("WebhookRegistered", {"registered": serializers.BooleanField()}),
            409: OpenApiResponse(description="Jira refused the registration; `detail` says why"),
        },
    ),
)
class JiraSiteViewSet(_ConnectionViewSet):
    queryset = JiraSite.objects.order_by("name")
    serializer_class = JiraSiteSerializer

    def _save(self, site, data):
        current = (
            {}
            if site is None
            else {
                "name": site.name,
                "base_url": site.base_url,
                "deployment": site.deployment,
                "account_email": site.account_email,
            }
        )
        merged = {**current, **data}
        try:
            return services.jira_site_save(
                site=site,
                name=merged.get("name", ""),
                base_url=merged.get("base_url", ""),
                deployment=merged.get("deployment", JiraSite.Deployment.CLOUD),
                account_email=merged.get("account_email", ""),
                api_token=data.get("api_token", ""),
            )
        except ConnectionFailed as failure:
            raise _refused(failure) from None

    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        site = self.get_object()
        services.jira_site_revoke(site=site, actor=request.user)
        return Response(self.get_serializer(site).data)

    @action(detail=True, methods=["get"])
    def projects(self, request, pk=None):
        try:
            found = services.jira_projects(self.get_object())
        except ConnectionFailed as failure:
            return Response({"detail": failure.message}, status=status.HTTP_502_BAD_GATEWAY)
        return Response([{"id": p.id, "key": p.key, "name": p.name, "team_managed": p.team_managed} for p in found])

    @action(detail=True, methods=["get"])
    def permissions(self, request, pk=None):
        site = self.get_object()
        client = clients.jira_client(site)
        result = []
        for project in site.projects.order_by("project_key"):
            checklist = selectors.project_checklist(project, client=client)
            result.append(
                {
                    "project_key": project.project_key,
                    "error": checklist.error,
                    "permissions": [{"key": i.key, "label": i.label, "granted": i.granted} for i in checklist.items],
                    "excess": checklist.excess,
                    "team_managed": checklist.team_managed,
                }
            )
        return Response({"warnings": selectors.app_user_warnings(site), "projects": result})

    @action(detail=True, methods=["get"])
    def webhook(self, request, pk=None):
        setup = selectors.jira_webhook_setup(self.get_object(), request)
        return Response({"url": setup.url, "events": setup.events, "jql": setup.jql, "admin_page": setup.admin_page})

    @action(detail=True, methods=["post"], url_path="register-webhook")
    def register_webhook(self, request, pk=None):
        try:
            services.jira_webhook_register(site=self.get_object(), public_base=selectors.public_base(request))
        except ConnectionFailed as failure:
            return Response({"detail": failure.message}, status=status.HTTP_409_CONFLICT)
        return Response({"registered": True})


@extend_schema_view(
    check=extend_schema(request=None, responses=_with_works(IntercomWorkspaceSerializer)),
    revoke=extend_schema(request=None),
    admins=extend_schema(responses={200: IntercomAdmins, 502: VENDOR_DOWN}),
    note_author=extend_schema(request=NoteAuthorSerializer, responses=IntercomWorkspaceSerializer),
)
class IntercomWorkspaceViewSet(_ConnectionViewSet):
    queryset = IntercomWorkspace.objects.order_by("name")
    serializer_class = IntercomWorkspaceSerializer

    def _save(self, workspace, data):
        current = (
            {}
            if workspace is None
            else {"name": workspace.name, "region": workspace.region, "api_base_url": workspace.api_base_url}
        )
        merged = {**current, **data}
        try:
            return services.intercom_workspace_save(
                workspace=workspace,
                name=merged.get("name", ""),
                region=merged.get("region", IntercomWorkspace.Region.US),
                api_base_url_override=merged.get("api_base_url", ""),
                access_token=data.get("access_token", ""),
                client_secret=data.get("client_secret", ""),
            )
        except ConnectionFailed as failure:
            raise _refused(failure) from None

    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        workspace = self.get_object()
        services.intercom_workspace_revoke(workspace=workspace, actor=request.user)
        return Response(self.get_serializer(workspace).data)

    @action(detail=True, methods=["get"])
    def admins(self, request, pk=None):
        try:
            found = services.intercom_admins(self.get_object())
        except ConnectionFailed as failure:
            return Response({"detail": failure.message}, status=status.HTTP_502_BAD_GATEWAY)
        return Response([{"id": a.get("id"), "name": a.get("name"), "email": a.get("email")} for a in found])

    @action(detail=True, methods=["post"], url_path="note-author", serializer_class=NoteAuthorSerializer)
    def note_author(self, request, pk=None):
        workspace = self.get_object()
        body = NoteAuthorSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.intercom_workspace_set_author(workspace=workspace, admin_id=body.validated_data["admin_id"])
        except ConnectionFailed as failure:
            raise _refused(failure) from None
        return Response(IntercomWorkspaceSerializer(workspace).data)


class ProjectConnectionViewSet(_ConnectionViewSet):
    queryset = ProjectConnection.objects.select_related("site", "workspace").order_by("site__name", "project_key")
    serializer_class = ProjectConnectionSerializer
    check = None  # a project connection has no credentials of its own to check

    def _save(self, connection, data):
        site = data.get("site") or connection.site
        try:
            return services.project_connection_save(
                connection=connection,
                site=site,
                project_id=str(data.get("project_id") or connection.project_id),
                workspace=data.get("workspace") or connection.workspace,
                **{t: data[t] for t in services.PROJECT_TOGGLES if t in data},
            )
        except ConnectionFailed as failure:
            raise _refused(failure) from None

    def _delete(self, instance, *, confirmed: bool) -> None:
        services.project_connection_delete(connection=instance)
