from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from config import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", account_views.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("connector.urls")),
    path("", include("linking.urls")),
    path("", include("notifications.urls")),
    path("django-admin/", admin.site.urls),
]
