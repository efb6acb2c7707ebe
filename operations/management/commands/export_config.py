"""Write the whole configuration as YAML or JSON (no secrets)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from operations.config_io import config_dump, config_export


class Command(BaseCommand):
    help = ("Export connections, project connections, rules, visible fields, count-field settings, roles and alert "
            "settings (without secrets) as YAML or JSON.")

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
        parser.add_argument("--output", "-o", help="file to write; standard output when omitted")

    def handle(self, *args, **options):
        text = config_dump(config_export(), options["format"])
        if options["output"]:
            Path(options["output"]).write_text(text)
            self.stderr.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(text, ending="")
