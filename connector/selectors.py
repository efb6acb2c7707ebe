from connector.models import Health, IntercomWorkspace, JiraSite


def connection_problems() -> list:
    """Connections that are broken or revoked, for the dashboard banner."""
    bad = [Health.BROKEN, Health.REVOKED]
    return [*JiraSite.objects.filter(health__in=bad), *IntercomWorkspace.objects.filter(health__in=bad)]
