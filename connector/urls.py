from django.urls import path

from connector import event_views, webhook_views

urlpatterns = [
    path("webhooks/jira/<uuid:public_id>", webhook_views.jira_webhook, name="jira_webhook"),
    path("webhooks/intercom/<uuid:public_id>", webhook_views.intercom_webhook, name="intercom_webhook"),
    path("events/", event_views.event_list, name="events"),
    path("events/<int:pk>/", event_views.event_detail, name="event_detail"),
    path("api/events/", event_views.EventListAPI.as_view(), name="api_events"),
]
