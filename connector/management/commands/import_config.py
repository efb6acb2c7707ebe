"""Create or update connections and project connections from a file made by export_config."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from connector.connections.config_io import ConfigError, config_import, config_load


class Command(BaseCommand):
    help = "Import connections and project connections from YAML or JSON ('-' reads standard input)."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, **options):
        text = sys.stdin.read() if options["path"] == "-" else Path(options["path"]).read_text()
        try:
            counts = config_import(config_load(text))
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created {counts['created']}, updated {counts['updated']}.")
