"""The editors' and reviewers' interface. Thin: every workflow action calls healthlib.workflow."""

from django.contrib import admin

from healthlib.models import ReviewerProfile, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(admin.ModelAdmin):
    list_display = ["display_name", "credentials", "specialty", "user"]
    search_fields = ["display_name", "credentials", "specialty"]
