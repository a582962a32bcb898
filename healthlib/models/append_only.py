"""Records that application code may create but never change or delete."""

from django.db import models


class AppendOnlyError(Exception):
    """Raised when code tries to update or delete an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} records are append-only; they cannot be updated.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} records are append-only; they cannot be deleted.")

    delete.queryset_only = True  # type: ignore[attr-defined]


class AppendOnlyModel(models.Model):
    """Abstract base for revisions, reviews and workflow events.

    Deleting a user still works: Django's collector nulls the user foreign keys
    directly in SQL, and every record keeps the user's name as a snapshot.
    """

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} records are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} records are append-only; they cannot be deleted.")
