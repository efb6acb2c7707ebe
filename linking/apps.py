from django.apps import AppConfig


class LinkingConfig(AppConfig):
    name = "linking"
    verbose_name = "Conversation links"

    def ready(self) -> None:
        # Registers the tasks services enqueue by name: a registered task is sent as .delay() would send it
        # (and runs inline under task_always_eager); linking.tasks imports services, so not the reverse.
        from linking import receivers, tasks  # noqa: F401
