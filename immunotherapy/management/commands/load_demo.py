from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from immunotherapy.demo import ACCOUNTS, demo_urls, load_demo

BASE_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = "Load the immunotherapy demo: accounts, the content pack and its review history. Safe to run again."

    def handle(self, *args, **options):
        if not getattr(settings, "DEMO_PASSWORD", None):
            raise CommandError("DEMO_PASSWORD is not set: demo accounts exist only in the demo settings.")
        result = load_demo()
        if result.imported:
            self.stdout.write(
                f"Imported {result.imported} items; published {len(result.published)} after medical review."
            )
        else:
            self.stdout.write(
                "The demo library is already loaded; nothing changed. To bring in edited content files as "
                "drafts: python manage.py healthlib_import immunotherapy/content --user editor"
            )
        if result.not_published:
            self.stderr.write(self.style.WARNING(f"Could not publish: {', '.join(result.not_published)}"))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Open:"))
        for label, path in demo_urls():
            self.stdout.write(f"  {label:32} {BASE_URL}{path}")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {settings.DEMO_PASSWORD}):"))
        for username, first, last, role, profile in ACCOUNTS:
            who = f"{first} {last}" + (f", {profile[0]}, {profile[1]}" if profile else "")
            self.stdout.write(f"  {username:12} {role:10} {who}")
