from django.urls import include, path
from rest_framework.routers import SimpleRouter

from notifications import api, comment_views, delivery_views, rule_views

router = SimpleRouter()
router.register("rules", api.RuleViewSet, basename="api_rule")
router.register("deliveries", api.DeliveryViewSet, basename="api_delivery")

urlpatterns = [
    path("rules/", rule_views.rule_list, name="rules"),
    path("rules/new/", rule_views.rule_edit, name="rule_create"),
    path("rules/preview/", rule_views.rule_preview, name="rule_preview"),
    path("rules/dry-run/", rule_views.rule_dry_run, name="rule_dry_run"),
    path("rules/<int:pk>/", rule_views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/test-note/", rule_views.rule_test_note, name="rule_test_note"),
    path("rules/<int:pk>/<str:op>/", rule_views.rule_change, name="rule_change"),
    path("deliveries/", delivery_views.delivery_list, name="deliveries"),
    path("deliveries/resend/", delivery_views.delivery_resend, name="delivery_resend"),
    path("deliveries/<int:pk>/", delivery_views.delivery_detail, name="delivery_detail"),
    path("issues/<str:key>/comment", comment_views.issue_comment, name="issue_comment"),
    path("api/issues/<str:key>/comments/", api.IssueCommentAPI.as_view(), name="api_issue_comment"),
    path("api/", include(router.urls)),
]
