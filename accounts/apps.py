from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and permissions"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401 (receivers connect by being imported, once models load)
        from accounts.services import role_ensure_builtin  # models load only once the app registry is ready

        post_migrate.connect(lambda **kwargs: role_ensure_builtin(), sender=self, weak=False)
