"""Records that application code may create but never change or delete."""

from typing import Any, NoReturn

from django.db import models


class AppendOnlyError(Exception):
    """Raised when code tries to update or delete an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} records are append-only; they cannot be updated.")

    def delete(self) -> NoReturn:
        raise AppendOnlyError(f"{self.model.__name__} records are append-only; they cannot be deleted.")

    delete.queryset_only = True  # type: ignore[attr-defined]  # Django's marker on a method, unknown to type checkers


class AppendOnlyModel(models.Model):
    """Abstract base for revisions, reviews and workflow events.

    Deleting a user still works: Django's collector nulls the user foreign keys
    directly in SQL, and every record keeps the user's name as a snapshot.
    """

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} records are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(f"{type(self).__name__} records are append-only; they cannot be deleted.")
