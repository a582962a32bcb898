from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from healthlib.content_files import export_folder


class Command(BaseCommand):
    help = (
        "Write topics and the live revision of every article and glossary term (or, with --latest, the latest "
        "revision) to a folder of markdown files that healthlib_import reads."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="Folder to write; created if missing. Files of the same items are replaced.")
        parser.add_argument(
            "--latest",
            action="store_true",
            help="Export the latest revision, drafts included, instead of the live one.",
        )

    def handle(self, *args, folder, latest, verbosity, **options):
        result = export_folder(folder, latest=latest)
        if verbosity >= 2:
            for skipped in result.skipped:
                self.stdout.write(_("skipped %(item)s") % {"item": skipped})
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(
            self.style.SUCCESS(
                _("Exported %(a)d articles, %(t)d glossary terms and %(topics)d topics to %(folder)s (%(s)d skipped).")
                % {
                    "a": result.articles,
                    "t": result.terms,
                    "topics": result.topics,
                    "folder": folder,
                    "s": len(result.skipped),
                }
            )
        )
