from django.contrib import admin
from django.urls import include, path

from config import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("pipeline.urls")),
    path("", include("connector.urls")),
    path("", include("linking.urls")),
    path("", include("deliveries.urls")),
    path("", include("notifications.urls")),
    path("django-admin/", admin.site.urls),
]
