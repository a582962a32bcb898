"""Errors raised by the workflow. Each says, in words an editor understands, why nothing changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from healthlib.checklist import CheckResult


class WorkflowError(Exception):
    """Base class: a workflow action was refused and the database is unchanged."""

    #: HTTP status a view should answer with when this error reaches it.
    status_code: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class TransitionNotAllowed(WorkflowError):
    """The item is not in a state from which this action is possible."""

    status_code = 409


class NotPermitted(WorkflowError, PermissionDenied):
    """The user lacks the permission this action needs."""

    status_code = 403


class ReviewerIsAuthor(NotPermitted):
    """A reviewer tried to approve or reaffirm content they wrote or submitted."""


class AlreadyReviewed(TransitionNotAllowed):
    """The same reviewer tried to approve the same content twice."""


class StaleVersion(WorkflowError):
    """The action was based on a revision that is no longer the latest one."""

    status_code = 409


class ContentHashMismatch(WorkflowError):
    """The content no longer matches what the reviewer approved."""

    status_code = 409


class InvalidContent(WorkflowError):
    """The submitted content or comment is not acceptable (missing field, too long, ...)."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class MarkdownTooComplex(InvalidContent):
    """Markdown that would make the renderer do unbounded work: long runs of unclosed brackets, deep nesting."""


class NoBaseRevision(InvalidContent):
    """A save did not say which revision it builds on, so it could silently replace a newer one."""


class ChecklistFailed(TransitionNotAllowed):
    """A required item of the pre-publish checklist failed, so the revision cannot be submitted or published."""

    def __init__(self, message: str, results: list[CheckResult] | None = None) -> None:
        super().__init__(message)
        #: Every :class:`healthlib.checklist.CheckResult`, passed and failed.
        self.results = results or []

    @property
    def failing(self) -> list[CheckResult]:
        return [result for result in self.results if result.blocks]


class CredentialsNotVerified(NotPermitted):
    """A reviewer's credentials were never verified, the verification expired, or they changed since.

    Readers are told who vouched for a page; an unchecked or lapsed credential must not vouch for anything.
    """
