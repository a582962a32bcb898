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
from healthlib.models.mentions import TermMention
from healthlib.models.profiles import ReviewerProfile
from healthlib.models.reviews import Decision, Review
from healthlib.models.revisions import Revision, RevisionAuthor, content_hash
from healthlib.models.search import SearchEntry
from healthlib.models.workspace import ReviewDates, ReviewQueue

__all__ = [
    "AppendOnlyError",
    "Article",
    "ArticleType",
    "ContentItem",
    "Decision",
    "GlossaryTerm",
    "Kind",
    "ProtectedContentError",
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
    "WorkflowEvent",
    "content_hash",
]
