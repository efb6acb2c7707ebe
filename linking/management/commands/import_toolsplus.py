"""manage.py import_toolsplus --site <id or base URL> [--jql ...] [--dry-run]"""

from django.core.management.base import BaseCommand, CommandError

from connector.errors import VendorError
from connector.models import JiraSite
from linking.toolsplus_import import toolsplus_import


class Command(BaseCommand):
    help = "Import conversation links from the ToolsPlus issue property intercom.conversation.links (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="Jira site id or base URL")
        parser.add_argument("--jql", default="", help="Which issues to read (default: every connected project)")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be linked; change nothing")

    def handle(self, *args, site, jql, dry_run, **options):
        found = JiraSite.objects.filter(pk=int(site)) if site.isdigit() else JiraSite.objects.filter(base_url=site)
        jira_site = found.first()
        if jira_site is None:
            raise CommandError(f"No Jira site {site!r}.")
        try:
            report = toolsplus_import(
                site=jira_site, jql=jql, dry_run=dry_run, progress=lambda line: self.stdout.write(line)
            )
        except VendorError as exc:
            raise CommandError(f"Jira stopped the import: {exc}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Read {report.issues_seen} issues, {report.issues_with_links} with ToolsPlus links: "
                f"{report.created} links created, {report.existing} already there"
                + (" (dry run, nothing changed)" if dry_run else "")
            )
        )
        if report.skipped:
            self.stdout.write(self.style.WARNING(f"Skipped {len(report.skipped)}:"))
            for label, reason in report.skipped:
                self.stdout.write(f"  {label}: {reason}")
