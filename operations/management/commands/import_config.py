"""Create or update the configuration from a file made by export_config (all of it or nothing)."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from operations.config_io import ConfigError, config_import, config_load


class Command(BaseCommand):
    help = "Import the configuration from YAML or JSON ('-' reads standard input); secrets are never in it."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, **options):
        text = sys.stdin.read() if options["path"] == "-" else Path(options["path"]).read_text()
        try:
            counts = config_import(config_load(text))
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created {counts['created']}, updated {counts['updated']}.")
