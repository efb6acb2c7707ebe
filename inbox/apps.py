from django.apps import AppConfig


class InboxConfig(AppConfig):
    """The Intercom Inbox app (Canvas Kit): create and link Jira issues from a conversation (issue 12)."""

    name = "inbox"
    default_auto_field = "django.db.models.BigAutoField"
