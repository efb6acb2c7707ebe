from django.urls import include, path
from rest_framework.routers import SimpleRouter

from connector import api, atlassian_sign_in
from connector.connections import views as cv

router = SimpleRouter()
router.register("jira-sites", api.JiraSiteViewSet, basename="api_jira_site")
router.register("intercom-workspaces", api.IntercomWorkspaceViewSet, basename="api_intercom_workspace")
router.register("project-connections", api.ProjectConnectionViewSet, basename="api_project_connection")

urlpatterns = [
    path("api/connections/", include(router.urls)),
    path("connections/", cv.connections, name="connections"),
    path("connections/jira/new/", cv.jira_site_edit, name="jira_site_create"),
    path("connections/jira/<int:pk>/", cv.jira_site_detail, name="jira_site_detail"),
    path("connections/jira/<int:pk>/edit/", cv.jira_site_edit, name="jira_site_edit"),
    path("connections/jira/<int:pk>/check/", cv.jira_site_check, name="jira_site_check"),
    path("connections/jira/<int:pk>/revoke/", cv.jira_site_revoke, name="jira_site_revoke"),
    path("connections/jira/<int:pk>/webhook-secret/", cv.jira_webhook_secret, name="jira_webhook_secret"),
    path("connections/jira/<int:pk>/sign-in/", atlassian_sign_in.site_sign_in_settings, name="jira_site_sign_in"),
    path("sign-in/atlassian/callback", atlassian_sign_in.sign_in_callback, name="atlassian_callback"),
    path("sign-in/atlassian/<int:site_id>/", atlassian_sign_in.sign_in_start, name="atlassian_sign_in"),
    path(
        "connections/jira/<int:pk>/register-webhook/",
        cv.jira_webhook_register,
        name="jira_webhook_register",
    ),
    path("connections/jira/<int:site_pk>/projects/new/", cv.project_connection_edit, name="project_connection_create"),
    path(
        "connections/jira/<int:site_pk>/projects/<int:pk>/",
        cv.project_connection_edit,
        name="project_connection_edit",
    ),
    path(
        "connections/jira/<int:site_pk>/projects/<int:pk>/delete/",
        cv.project_connection_delete,
        name="project_connection_delete",
    ),
    path("connections/intercom/new/", cv.intercom_workspace_edit, name="intercom_workspace_create"),
    path("connections/intercom/<int:pk>/", cv.intercom_workspace_detail, name="intercom_workspace_detail"),
    path("connections/intercom/<int:pk>/edit/", cv.intercom_workspace_edit, name="intercom_workspace_edit"),
    path("connections/intercom/<int:pk>/check/", cv.intercom_workspace_check, name="intercom_workspace_check"),
    path(
        "connections/intercom/<int:pk>/revoke/",
        cv.intercom_workspace_revoke,
        name="intercom_workspace_revoke",
    ),
]
