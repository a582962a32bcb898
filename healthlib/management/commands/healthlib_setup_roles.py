from django.core.management.base import BaseCommand

from healthlib.roles import ensure_roles, role_permissions


class Command(BaseCommand):
    help = "Create the Editors and Medical reviewers groups with healthlib's permissions (safe to run again)."

    def handle(self, *args, **options):
        ensure_roles(using=options.get("database") or "default")
        for group, permissions in role_permissions().items():
            self.stdout.write(f"{group}: {len(permissions)} permissions")
