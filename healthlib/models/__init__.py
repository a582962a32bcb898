from healthlib.models.append_only import AppendOnlyError
from healthlib.models.audit import WorkflowEvent
from healthlib.models.content import (
    Article,
    ArticleType,
    ContentItem,
    GlossaryTerm,
    Kind,
    ProtectedContentError,
    State,
    Topic,
)
from healthlib.models.derived import DerivedWork, WorkAction
from healthlib.models.link_checks import ReferenceCheck
from healthlib.models.mentions import TermMention
from healthlib.models.outbox import OutgoingEmail
from healthlib.models.profiles import CredentialVerification, ReviewerProfile
from healthlib.models.purge import PurgeRequest
from healthlib.models.reports import ProblemReport, ReportStatus
from healthlib.models.reviews import Decision, Review
from healthlib.models.revisions import Revision, RevisionAuthor, content_hash
from healthlib.models.search import SearchEntry
from healthlib.models.workspace import ReviewDates, ReviewQueue

__all__ = [
    "AppendOnlyError",
    "Article",
    "ArticleType",
    "ContentItem",
    "CredentialVerification",
    "Decision",
    "DerivedWork",
    "GlossaryTerm",
    "Kind",
    "OutgoingEmail",
    "ProblemReport",
    "ProtectedContentError",
    "PurgeRequest",
    "ReferenceCheck",
    "ReportStatus",
    "Review",
    "ReviewDates",
    "ReviewQueue",
    "ReviewerProfile",
    "Revision",
    "RevisionAuthor",
    "SearchEntry",
    "State",
    "TermMention",
    "Topic",
    "WorkAction",
    "WorkflowEvent",
    "content_hash",
]
