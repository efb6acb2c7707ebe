from django.urls import path

from linking import api, comment_views, forge_api, support_views, views

urlpatterns = [
    path("issues/", views.issue_search, name="issue_search"),
    path("issues/<str:key>/", views.issue_detail, name="issue_detail"),
    path("issues/<str:key>/link", views.issue_link, name="issue_link"),
    path("issues/<str:key>/link-many", views.issue_link_many, name="issue_link_many"),
    path("issues/<str:key>/links/<int:link_id>/unlink", views.issue_unlink, name="issue_unlink"),
    path("issues/<str:key>/comment", comment_views.issue_comment, name="issue_comment"),
    path("issues/<str:key>/tracker", support_views.issue_tracker_create, name="issue_tracker_create"),
    path("reports/", views.reports, name="reports"),
    path("reports/links.csv", views.report_csv, name="report_csv"),
    path("reports/issues/<str:key>/", views.report_issue_history, name="report_issue_history"),
    path("linking/settings/", views.linking_settings, name="linking_settings"),
    path("linking/workspaces/<int:workspace_id>/fields/", views.visible_fields, name="visible_fields"),
    path("linking/sites/<int:site_id>/search/", views.search_settings, name="search_settings"),
    path("linking/projects/<int:project_id>/support/", support_views.support_settings, name="support_settings"),
    path("api/links/", api.LinkListCreate.as_view(), name="api_links"),
    path("api/links/bulk/", api.BulkLinkCreate.as_view(), name="api_links_bulk"),
    path("api/links/<int:pk>/", api.LinkDetail.as_view(), name="api_link"),
    path("api/issues/<str:key>/jira-progress/", api.IssueJiraProgress.as_view(), name="api_issue_jira_progress"),
    path("api/issues/<str:key>/comments/", api.IssueCommentAPI.as_view(), name="api_issue_comment"),
    path("api/issues/<str:key>/tracker/", api.IssueTrackerAPI.as_view(), name="api_issue_tracker"),
    # The Jira issue panel (forge/), through Forge Remote: `issue` is the issue id (or key) of the call's token.
    path("forge/issues/<str:issue>/panel", forge_api.PanelView.as_view(), name="forge_panel"),
    path("forge/issues/<str:issue>/count", forge_api.CountView.as_view(), name="forge_count"),
    path("forge/issues/<str:issue>/links", forge_api.LinkView.as_view(), name="forge_link"),
    path("forge/issues/<str:issue>/links/<int:link_id>", forge_api.UnlinkView.as_view(), name="forge_unlink"),
    path("forge/issues/<str:issue>/comments", forge_api.CommentView.as_view(), name="forge_comment"),
]
