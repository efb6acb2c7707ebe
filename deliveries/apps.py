from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "deliveries"
    verbose_name = "Deliveries into Intercom"

    def ready(self) -> None:
        from deliveries import receivers  # noqa: F401 - connects the receivers once models are ready
