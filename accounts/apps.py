from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and permissions"

    def ready(self) -> None:
        # Models load only once the app registry is ready; receivers connect by being imported.
        from accounts import receivers  # noqa: F401
        from accounts.services import role_ensure_builtin

        post_migrate.connect(lambda **kwargs: role_ensure_builtin(), sender=self, weak=False)
