from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What an admin needs on day two: dashboard, explain an issue, alerts, configuration as code (issue 14)."""

    name = "operations"
    default_auto_field = "django.db.models.BigAutoField"
