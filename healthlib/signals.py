"""Workflow signals. Each is sent once, after the transaction that made the change commits.

Every signal is sent with ``sender`` = the item's model class (:class:`~healthlib.models.Article` or
:class:`~healthlib.models.GlossaryTerm`) and these keyword arguments (:class:`WorkflowSignalKwargs`):

- ``item``: the Article or GlossaryTerm, as it is after the change;
- ``revision``: the Revision the action was about (the live one for ``reaffirmed``, else the latest);
- ``user``: who did it (an instance of the site's user model);
- ``review``: the Review written by the action (``approved``, ``changes_requested``, ``reaffirmed``), or ``None``;
- ``event``: the WorkflowEvent written by the action.

A typed receiver::

    def on_published(sender: type[Article | GlossaryTerm], **kwargs: Unpack[WorkflowSignalKwargs]) -> None: ...

A receiver that raises is logged and does not affect the (already committed) change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.dispatch import Signal

if TYPE_CHECKING:
    from django.contrib.auth.models import _User  # django-stubs' name for the site's user model

    from healthlib.models import Article, GlossaryTerm, Review, Revision, WorkflowEvent


class WorkflowSignalKwargs(TypedDict):
    """The keyword arguments every workflow signal's receivers get (besides ``sender``)."""

    signal: Signal
    item: Article | GlossaryTerm
    revision: Revision
    user: _User
    review: Review | None
    event: WorkflowEvent


#: An editor submitted a revision for medical review.
submitted: Signal = Signal()
#: A medical reviewer approved a revision (it may still need more approvals); ``review`` is the approval.
approved: Signal = Signal()
#: A medical reviewer sent a revision back to its editor; ``review`` holds the comment.
changes_requested: Signal = Signal()
#: A revision went live; ``revision`` is the new live revision.
published: Signal = Signal()
#: A medical reviewer confirmed that the live revision is still accurate; ``review`` is the new review date.
reaffirmed: Signal = Signal()
#: Content was taken off the site.
archived: Signal = Signal()
#: How a live item is shown changed without a new revision: its review interval ("Next review due"),
#: or an article's type or topics.
details_changed: Signal = Signal()
