"""The editors' and medical reviewers' workspace in the Django admin (optional: the core works without it).

Thin by design: every state change calls :mod:`healthlib.workflow`, and every refusal is the
workflow's own error turned into a message, a form error or an HTTP status. One module per concern:

* :mod:`~healthlib.admin.base`: checked ids, links to an item's admin pages, refusal responses;
* :mod:`~healthlib.admin.filters`: changelist filters;
* :mod:`~healthlib.admin.content`: articles, glossary terms and topics; the change form saves through the workflow;
* :mod:`~healthlib.admin.actions`: the workflow actions (buttons and the endpoint they post to), as a table;
* :mod:`~healthlib.admin.workspace`: what the change form shows around the fields;
* :mod:`~healthlib.admin.history`: an item's history and the diff of any two revisions;
* :mod:`~healthlib.admin.queries` and :mod:`~healthlib.admin.review`: the review queue, review page and review dates;
* :mod:`~healthlib.admin.records`, :mod:`~healthlib.admin.reports`, :mod:`~healthlib.admin.profiles`, :mod:`~healthlib.admin.purges`:
  append-only records and derived work, reader reports, reviewer profiles, pending and failed purges;
* :mod:`~healthlib.admin.outbox`: outgoing emails, pending, failed and sent.

Importing this package (Django's admin autodiscovery does) registers the model admins.
"""

from healthlib.admin import content, outbox, profiles, purges, records, reports, review  # noqa: F401 (registers the admins)
from healthlib.admin.actions import WORKFLOW_ACTIONS

__all__ = ["WORKFLOW_ACTIONS"]
