from django.urls import include, path
from rest_framework.routers import SimpleRouter

from notifications import api, rule_views

router = SimpleRouter()
router.register("rules", api.RuleViewSet, basename="api_rule")

urlpatterns = [
    path("rules/", rule_views.rule_list, name="rules"),
    path("rules/new/", rule_views.rule_edit, name="rule_create"),
    path("rules/preview/", rule_views.rule_preview, name="rule_preview"),
    path("rules/dry-run/", rule_views.rule_dry_run, name="rule_dry_run"),
    path("rules/choices/", rule_views.rule_choices, name="rule_choices"),
    path("rules/<int:pk>/", rule_views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/test-note/", rule_views.rule_test_note, name="rule_test_note"),
    path("rules/<int:pk>/<str:op>/", rule_views.rule_change, name="rule_change"),
    path("api/", include(router.urls)),
]
