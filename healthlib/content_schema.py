"""What a revision of each kind contains, and how submitted content is checked and normalised.

The rules are Django form fields: one form per kind of content, one for a reference. The admin's
forms, the workflow and the content-file importer all call :func:`clean_article_content` and
:func:`clean_term_content`, which raise :class:`~healthlib.exceptions.InvalidContent` listing every
problem by field (``references[2].url`` for a field of a reference), so an importer can point at the
line. Values are normalised as :mod:`healthlib.normalise` says, so content hashes stay stable.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
    URLValidator,
)
from django.utils.translation import gettext as _

from healthlib.conf import healthlib_settings
from healthlib.exceptions import InvalidContent, MarkdownTooComplex
from healthlib.markup import check_markdown
from healthlib.normalise import normalise_text, single_line_clean

ARTICLE_FIELDS = ("title", "summary", "body", "references")
TERM_FIELDS = (
    "term",
    "aliases",
    "pronunciation",
    "short_definition",
    "full_definition",
    "professional_definition",
    "related_terms",
)
REFERENCE_FIELDS = ("title", "publisher", "url", "year")
MAX_TITLE = 200
MAX_SHORT_TEXT = 1000
MAX_LIST = 50

_url_validator = URLValidator(schemes=["http", "https"])


def validate_http_url(value: str) -> None:
    """Refuse anything but an http(s) address, naming (the start of) the address in the message."""
    try:
        _url_validator(value)
    except ValidationError:
        raise ValidationError(
            _("“%(url)s” is not a valid http(s) address.") % {"url": value[:80]}, code="invalid_url"
        ) from None


# ---------------------------------------------------------------- fields


class TextField(forms.Field):
    """Text as it is hashed (see :func:`~healthlib.normalise.normalise_text`), at most ``max_length`` characters.

    Not ``forms.CharField``: that one turns any value (a number, a list from a YAML file) into text,
    where content must refuse it.
    """

    def __init__(self, *, required: bool = False, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(required=required, **kwargs)
        limit = max_length or (lambda: healthlib_settings.MAX_BODY_CHARS)
        self.validators += [
            MaxLengthValidator(limit, _("Too long: %(show_value)d characters, the limit is %(limit_value)d.")),
            ProhibitNullCharactersValidator(_("Contains a NUL character.")),
        ]

    def to_python(self, value: Any) -> str:
        try:
            return normalise_text("" if value is None else value)
        except TypeError:
            raise ValidationError(_("Must be text."), code="not_text") from None


class MarkdownField(TextField):
    """Text rendered as markdown: refused here if it is beyond the renderer's bounds."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if value:
            try:
                check_markdown(value)
            except MarkdownTooComplex as exc:
                raise ValidationError(exc.message, code="too_complex") from None
        return value


class OneLineField(TextField):
    """A title, a name: one line without invisible characters. ``line_validators`` check the clean line.

    The length and NUL checks see the text before the invisible characters go (a NUL is reported,
    not silently dropped), so every problem is collected before raising rather than at the first.
    """

    def __init__(self, *, max_length: int = MAX_TITLE, line_validators: tuple = (), **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)
        self.line_validators = line_validators

    def clean(self, value: Any) -> str:
        text = self.to_python(value)
        self.validate(text)
        errors: list[ValidationError] = []
        try:
            self.run_validators(text)
        except ValidationError as exc:
            errors += exc.error_list
        line = single_line_clean(text)
        if "\n" in line:
            errors.append(ValidationError(_("Must be a single line."), code="not_one_line"))
        if line:
            for validator in self.line_validators:
                try:
                    validator(line)
                except ValidationError as exc:
                    errors += exc.error_list
        elif self.required and not errors:
            errors.append(ValidationError(self.error_messages["required"], code="required"))
        if errors:
            raise ValidationError(errors)
        return line


class LineListField(forms.Field):
    """A list of short lines (aliases, slugs): each cleaned like a title, duplicates and blanks dropped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def clean(self, value: Any) -> list[str]:
        value = value or []
        if not isinstance(value, (list, tuple)):
            raise ValidationError(_("Must be a list."), code="not_list")
        errors = []
        if len(value) > MAX_LIST:
            errors.append(_("At most %(n)d entries.") % {"n": MAX_LIST})
        lines: list[str] = []
        for entry in value:
            try:
                line = single_line_clean(normalise_text(entry))
            except TypeError:
                errors.append(_("Every entry must be text."))
                continue
            if "\n" in line or len(line) > MAX_TITLE:
                errors.append(
                    _("“%(v)s” must be a single line of at most %(n)d characters.") % {"v": line[:40], "n": MAX_TITLE}
                )
            if line and line not in lines:
                lines.append(line)
        errors += self.check_lines(lines)
        if errors:
            raise ValidationError(errors)
        return lines

    def check_lines(self, lines: list[str]) -> list[str]:
        return []


class RelatedTermsField(LineListField):
    """Slugs of other glossary terms: not the term's own, and (when ``known_slugs`` is set) existing ones."""

    known_slugs: set[str] | None = None
    own_slug = ""

    def check_lines(self, lines: list[str]) -> list[str]:
        errors = []
        for slug in lines:
            if slug == self.own_slug:
                errors.append(_("A term cannot be related to itself."))
            elif self.known_slugs is not None and slug not in self.known_slugs:
                errors.append(_("Unknown glossary term “%(slug)s”.") % {"slug": slug})
        return errors


class YearField(forms.Field):
    """A year as a whole number (not text, not ``true``) from 1800 to next year; empty is None."""

    def __init__(self, **kwargs: Any) -> None:
        message = _("Must be a year such as 2024.")
        super().__init__(required=False, **kwargs)
        self.validators += [
            MinValueValidator(1800, message),
            MaxValueValidator(lambda: datetime.date.today().year + 1, message),
        ]
        self.message = message

    def to_python(self, value: Any) -> int | None:
        if value in ("", None):
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(self.message, code="invalid_year")
        return value


# ---------------------------------------------------------------- forms


class ReferenceForm(forms.Form):
    title = OneLineField(required=True, max_length=500)
    publisher = OneLineField()
    url = OneLineField(max_length=2000, line_validators=(validate_http_url,))
    year = YearField()


class ArticleContentForm(forms.Form):
    title = OneLineField(required=True)
    summary = MarkdownField(max_length=MAX_SHORT_TEXT)
    body = MarkdownField()


class TermContentForm(forms.Form):
    term = OneLineField(required=True)
    aliases = LineListField()
    pronunciation = OneLineField()
    short_definition = MarkdownField(required=True, max_length=MAX_SHORT_TEXT)
    full_definition = MarkdownField(max_length=20_000)
    professional_definition = MarkdownField(max_length=20_000)
    related_terms = RelatedTermsField()

    def __init__(self, data: dict, *, known_slugs: set[str] | None = None, own_slug: str = "") -> None:
        super().__init__(data)
        self.fields["related_terms"].known_slugs = known_slugs
        self.fields["related_terms"].own_slug = own_slug


# ---------------------------------------------------------------- cleaning


def _clean(form: forms.Form, allowed: tuple[str, ...], errors: dict[str, list[str]], where: str) -> dict[str, Any]:
    """The form's cleaned data; an unknown field (under ``where``) and the form's errors added to ``errors``."""
    unknown = ", ".join(sorted(set(form.data) - set(allowed)))
    if unknown:
        message = _("Unknown field(s): %(f)s.") if where == "content" else _("Unknown reference field(s): %(f)s.")
        errors.setdefault(where, []).append(message % {"f": unknown})
    prefix = "" if where == "content" else f"{where}."
    for name, messages in form.errors.items():
        errors.setdefault(prefix + name, []).extend(messages)
    return form.cleaned_data


def _raise_if_any(errors: dict[str, list[str]]) -> None:
    if errors:
        details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        raise InvalidContent(_("The content is not valid (%(details)s).") % {"details": details}, errors)


def clean_reference(raw: Any, prefix: str, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """One reference, its problems added to ``errors`` under ``prefix`` (``references[2]``, ``references[2].url``)."""
    if not isinstance(raw, dict):
        errors.setdefault(prefix, []).append(_("Each reference needs a title, publisher, URL and year."))
        return None
    cleaned = _clean(ReferenceForm(raw), REFERENCE_FIELDS, errors, prefix)
    return {name: cleaned.get(name) for name in REFERENCE_FIELDS}


def clean_article_content(data: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise an article's content; raise InvalidContent listing every problem."""
    if not isinstance(data, dict):
        raise InvalidContent(_("Content must be a mapping of fields."))
    errors: dict[str, list[str]] = {}
    cleaned = _clean(ArticleContentForm(data), ARTICLE_FIELDS, errors, "content")
    raw_references = data.get("references") or []
    references = []
    if not isinstance(raw_references, (list, tuple)):
        errors.setdefault("references", []).append(_("Must be a list."))
    else:
        for index, raw in enumerate(raw_references):
            reference = clean_reference(raw, f"references[{index}]", errors)
            if reference is not None:
                references.append(reference)
    _raise_if_any(errors)
    return {"title": cleaned["title"], "summary": cleaned["summary"], "body": cleaned["body"], "references": references}


def clean_term_content(
    data: dict[str, Any], *, known_slugs: set[str] | None = None, own_slug: str = ""
) -> dict[str, Any]:
    """Check and normalise a glossary term's content; raise InvalidContent listing every problem.

    ``known_slugs`` (when given) are the glossary slugs that ``related_terms`` may name.
    """
    if not isinstance(data, dict):
        raise InvalidContent(_("Content must be a mapping of fields."))
    errors: dict[str, list[str]] = {}
    cleaned = _clean(TermContentForm(data, known_slugs=known_slugs, own_slug=own_slug), TERM_FIELDS, errors, "content")
    _raise_if_any(errors)
    return {name: cleaned[name] for name in TERM_FIELDS}
