"""Register a Jira site's admin webhook through Jira's REST API (the app user needs Administer Jira)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from connector.connections.services import ConnectionFailed, jira_webhook_register
from connector.models import JiraSite


class Command(BaseCommand):
    help = "Register the connector's webhook in Jira for a connected site (by id or base URL)."

    def add_arguments(self, parser):
        parser.add_argument("site", help="the site's id or base URL")
        parser.add_argument("--public-url", default=settings.PUBLIC_URL, help="this service's public base URL")

    def handle(self, *args, **options):
        ref = options["site"]
        site = JiraSite.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        site = site or JiraSite.objects.filter(base_url=ref.rstrip("/")).first()
        if site is None:
            raise CommandError(f"No Jira site {ref!r} is connected.")
        if not options["public_url"]:
            raise CommandError("Set PUBLIC_URL or pass --public-url: Jira must know where to send deliveries.")
        try:
            jira_webhook_register(site=site, public_base=options["public_url"])
        except ConnectionFailed as failure:
            raise CommandError(failure.message) from None
        self.stdout.write(f"Registered the webhook of {site.name} at {options['public_url']}.")
