"""Workflow signals. Each is sent once, after the transaction that made the change commits.

Every signal is sent with ``sender`` = the item's model class and these keyword arguments:

- ``item``: the Article or GlossaryTerm, as it is after the change;
- ``revision``: the Revision the action was about;
- ``user``: who did it;
- ``review``: the Review written by the action, or ``None``;
- ``event``: the WorkflowEvent written by the action.

A receiver that raises is logged and does not affect the (already committed) change.
"""

from django.dispatch import Signal

#: An editor submitted a revision for medical review.
submitted = Signal()
#: A medical reviewer approved a revision (it may still need more approvals).
approved = Signal()
#: A medical reviewer sent a revision back to its editor.
changes_requested = Signal()
#: A revision went live.
published = Signal()
#: A medical reviewer confirmed that the live revision is still accurate.
reaffirmed = Signal()
#: Content was taken off the site.
archived = Signal()
#: How a live item is shown changed without a new revision: its review interval ("Next review due"),
#: or an article's type or topics.
details_changed = Signal()
