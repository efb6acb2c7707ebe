from django.urls import include, path

from pipeline import event_views

urlpatterns = [
    path("", include("pipeline.webhook_urls")),
    path("events/", event_views.event_list, name="events"),
    path("events/<int:pk>/", event_views.event_detail, name="event_detail"),
    path("api/events/", event_views.EventListAPI.as_view(), name="api_events"),
]
