from django.urls import path

from operations import api, views

urlpatterns = [
    path("explain/", views.explain, name="explain"),
    path("alerts/", views.alerts, name="alerts"),
    path("api/config/", api.ConfigAPI.as_view(), name="api_config"),
]
