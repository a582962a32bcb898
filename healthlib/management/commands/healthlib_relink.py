from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from healthlib import glossary_linker


class Command(BaseCommand):
    help = _("Re-render and re-link the body of every live article against the published glossary.")

    def handle(self, *args, **options):
        changed = glossary_linker.relink_articles()
        self.stdout.write(_("Re-linked %(n)d article(s).") % {"n": changed})
