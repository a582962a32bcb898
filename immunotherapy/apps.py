from django.apps import AppConfig


class ImmunotherapyConfig(AppConfig):
    """The demo site is also an installed app, so it can ship its content and commands."""

    name = "immunotherapy"
    verbose_name = "Immunotherapy demo"
