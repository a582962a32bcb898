"""Content as files: one markdown file per article or glossary term, with YAML front matter.

A content folder looks like this::

    topics.yaml             a list of {slug, name, description}
    articles/<slug>.md      front matter: slug, type, topics, review_interval_days, title, summary, references
    glossary/<slug>.md      front matter: slug, term, aliases, pronunciation, short_definition,
                            professional_definition, related_terms

The text after the front matter is the article's body or the term's full definition.

- :mod:`~healthlib.content_files.front_matter`: one file, its safe YAML and the line of every field;
- :mod:`~healthlib.content_files.read`: a folder, checked whole (:class:`ContentFileError` lists every
  problem by file and line);
- :mod:`~healthlib.content_files.write`: deterministic files (export -> import -> export gives the same bytes);
- :mod:`~healthlib.content_files.sync`: importing through :mod:`healthlib.workflow` only, so a file can
  never bypass medical review, and publishing in glossary-dependency order.
"""

from healthlib.content_files.front_matter import MAX_YAML_DEPTH, MAX_YAML_NODES, ContentFileError, Problem
from healthlib.content_files.read import (
    ARTICLE_KEYS,
    ARTICLE_REQUIRED,
    ARTICLES_DIR,
    GLOSSARY_DIR,
    TERM_KEYS,
    TERM_REQUIRED,
    TOPIC_KEYS,
    TOPICS_FILE,
    ArticleFile,
    ContentFolder,
    TermFile,
    TopicEntry,
    read_folder,
)
from healthlib.content_files.sync import (
    CREATE,
    UNCHANGED,
    UPDATE,
    Change,
    ImportResult,
    import_folder,
    publish_in_dependency_order,
)
from healthlib.content_files.write import ExportResult, dump_article, dump_term, dump_topics, export_folder

__all__ = [
    "ARTICLE_KEYS",
    "ARTICLE_REQUIRED",
    "ARTICLES_DIR",
    "CREATE",
    "GLOSSARY_DIR",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "TERM_KEYS",
    "TERM_REQUIRED",
    "TOPIC_KEYS",
    "TOPICS_FILE",
    "UNCHANGED",
    "UPDATE",
    "ArticleFile",
    "Change",
    "ContentFileError",
    "ContentFolder",
    "ExportResult",
    "ImportResult",
    "Problem",
    "TermFile",
    "TopicEntry",
    "dump_article",
    "dump_term",
    "dump_topics",
    "export_folder",
    "import_folder",
    "publish_in_dependency_order",
    "read_folder",
]
