from django.apps import AppConfig


class ConnectorConfig(AppConfig):
    name = "connector"
    verbose_name = "Connections and webhooks"

    def ready(self) -> None:
        from accounts.sign_in_options import register  # AppConfig.ready: kept with the import below
        from connector.atlassian_sign_in import sign_in_options  # AppConfig.ready: it loads models

        register(sign_in_options)
