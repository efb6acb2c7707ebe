from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config import health, metrics, views

handler404 = views.not_found

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("", views.home, name="home"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("", include("accounts.urls")),
    path("", include("pipeline.urls")),
    path("", include("connector.urls")),
    path("", include("linking.urls")),
    path("", include("deliveries.urls")),
    path("", include("notifications.urls")),
    path("", include("inbox.urls")),
    path("", include("operations.urls")),
    path("django-admin/", admin.site.urls),
]
