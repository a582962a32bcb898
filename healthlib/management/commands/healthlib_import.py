from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from healthlib.content_files import CREATE, UNCHANGED, UPDATE, ContentFileError, import_folder
from healthlib.exceptions import WorkflowError


class Command(BaseCommand):
    help = (
        "Import articles, glossary terms and topics from a folder of markdown files. New items become drafts, "
        "changed items new draft revisions; the live pages change only after medical review. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="Folder with topics.yaml, articles/*.md and glossary/*.md.")
        parser.add_argument("--user", required=True, help="Username of the editor the drafts are saved as.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument(
            "--submit", action="store_true", help="Submit the new and changed drafts for medical review."
        )

    def handle(self, *args, folder, user, dry_run, submit, verbosity, **options):
        User = get_user_model()
        try:
            account = User.objects.get(**{User.USERNAME_FIELD: user})
        except User.DoesNotExist:
            raise CommandError(_("There is no user “%(user)s”.") % {"user": user}) from None
        try:
            result = import_folder(folder, account, dry_run=dry_run, submit=submit)
        except ContentFileError as exc:
            raise CommandError(
                _("Nothing was imported; fix these problems and run the import again:") + "\n" + str(exc)
            ) from exc
        except WorkflowError as exc:
            raise CommandError(str(exc)) from exc

        prefix = _("would ") if dry_run else ""
        for change in result.changes:
            if change.action != UNCHANGED:
                self.stdout.write(f"{prefix}{change}")
            elif verbosity >= 2:
                self.stdout.write(str(change))
        for change in result.submitted:
            self.stdout.write(
                _("submitted %(kind)s %(slug)s for medical review") % {"kind": change.kind, "slug": change.slug}
            )
        counts = {
            kind: f"{result.count(CREATE, kind)} new, {result.count(UPDATE, kind)} changed, "
            f"{result.count(UNCHANGED, kind)} unchanged"
            for kind in ("topic", "article", "glossary term")
        }
        summary = "; ".join(f"{kind}s: {text}" for kind, text in counts.items())
        if dry_run:
            self.stdout.write(_("Dry run, nothing written. %(summary)s.") % {"summary": summary})
        else:
            self.stdout.write(self.style.SUCCESS(_("Imported. %(summary)s.") % {"summary": summary}))
