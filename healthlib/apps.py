from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class HealthlibConfig(AppConfig):
    name = "healthlib"
    verbose_name = _("Health library")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: the app's modules import its models, which exist only once apps are loaded.
        from healthlib import (
            cache,
            checks,  # noqa: F401  (registers the system checks)
            derived_work,
            notifications,
            purge,
            reader_pages,
            roles,
            tasks,
        )

        post_migrate.connect(roles.ensure_roles_after_migrate, sender=self)
        notifications.connect()
        derived_work.connect()
        purge.connect()
        tasks.connect()
        reader_pages.connect()
        cache.connect()
