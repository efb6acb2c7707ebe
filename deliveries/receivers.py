"""Signal receivers: a reconnected Intercom workspace sends what was held while it was broken."""

from django.dispatch import receiver

from connector.models import IntercomWorkspace
from connector.signals import connection_restored
from deliveries import services


@receiver(connection_restored)
def resume_held_deliveries(sender, connection, **kwargs):
    if isinstance(connection, IntercomWorkspace):
        services.deliveries_resume(connection.pk)
