from django.urls import path

from linking import api, comment_views, views

urlpatterns = [
    path("issues/", views.issue_search, name="issue_search"),
    path("issues/<str:key>/", views.issue_detail, name="issue_detail"),
    path("issues/<str:key>/link", views.issue_link, name="issue_link"),
    path("issues/<str:key>/links/<int:link_id>/unlink", views.issue_unlink, name="issue_unlink"),
    path("issues/<str:key>/comment", comment_views.issue_comment, name="issue_comment"),
    path("reports/", views.reports, name="reports"),
    path("reports/links.csv", views.report_csv, name="report_csv"),
    path("reports/issues/<str:key>/", views.report_issue_history, name="report_issue_history"),
    path("linking/settings/", views.linking_settings, name="linking_settings"),
    path("linking/workspaces/<int:workspace_id>/fields/", views.visible_fields, name="visible_fields"),
    path("linking/sites/<int:site_id>/search/", views.search_settings, name="search_settings"),
    path("api/links/", api.LinkListCreate.as_view(), name="api_links"),
    path("api/links/<int:pk>/", api.LinkDetail.as_view(), name="api_link"),
    path("api/issues/<str:key>/comments/", api.IssueCommentAPI.as_view(), name="api_issue_comment"),
]
