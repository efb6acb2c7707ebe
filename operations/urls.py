from django.urls import path

from operations import views

urlpatterns = [
    path("explain/", views.explain, name="explain"),
    path("alerts/", views.alerts, name="alerts"),
]
