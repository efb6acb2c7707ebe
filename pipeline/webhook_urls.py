"""The inbound webhook URLs, in a urlconf of their own so the webhook fast path resolves only these."""

from django.urls import path

from pipeline import webhook_views

urlpatterns = [
    path("webhooks/jira/<uuid:public_id>", webhook_views.jira_webhook, name="jira_webhook"),
    path("webhooks/intercom/<uuid:public_id>", webhook_views.intercom_webhook, name="intercom_webhook"),
]
