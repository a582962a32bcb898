"""Admin forms: edit the latest revision's content plus the item's metadata; and the readers' report form.

Forms validate; they never write. The change form shows the *latest* revision's content and turns
what was typed into a content dict (:meth:`ContentItemForm.build_content`); the admin's
``save_model`` hands it to :mod:`healthlib.workflow`. When the workflow refuses (invalid content, a
stale version, a wrong state), the admin binds the same data again with the refusal
(:attr:`ContentItemForm.refusal`), which this form shows as its errors on the still-filled-in form.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from markdownx.widgets import AdminMarkdownxWidget

from healthlib import workflow
from healthlib.conf import MAX_REVIEW_INTERVAL_DAYS
from healthlib.content_schema import ARTICLE_FIELDS, TERM_FIELDS, clean_article_content, clean_term_content
from healthlib.diff import changed_fields
from healthlib.exceptions import InvalidContent, StaleVersion, WorkflowError
from healthlib.models import Article, GlossaryTerm, ProblemReport, Revision
from healthlib.models.reports import MAX_MESSAGE, MAX_NOTE

REFERENCE_SEPARATOR = "|"
_ERROR_KEY = re.compile(r"^(?P<field>\w+)(?:\[(?P<index>\d+)\])?(?:\.(?P<sub>\w+))?$")


def references_to_text(references: list[dict[str, Any]]) -> str:
    """One reference per line: ``Title | Publisher | https://address | Year``."""
    lines = []
    for ref in references or []:
        parts = [ref.get("title") or "", ref.get("publisher") or "", ref.get("url") or "", ref.get("year") or ""]
        lines.append(f" {REFERENCE_SEPARATOR} ".join(str(part) for part in parts).rstrip(" |"))
    return "\n".join(lines)


def text_to_references(text: str) -> list[dict[str, Any]]:
    """Parse the references box. Raises ``forms.ValidationError`` naming the line at fault."""
    references = []
    errors = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(REFERENCE_SEPARATOR)]
        if len(parts) > 4:
            errors.append(
                _("Line %(n)d has more than four parts; write Title | Publisher | Address | Year.") % {"n": number}
            )
            continue
        parts += [""] * (4 - len(parts))
        title, publisher, url, year = parts
        if year and not year.isdigit():
            errors.append(_("Line %(n)d: the year “%(year)s” is not a number.") % {"n": number, "year": year})
            continue
        references.append({"title": title, "publisher": publisher, "url": url, "year": int(year) if year else None})
    if errors:
        raise forms.ValidationError(errors)
    return references


def lines_to_list(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"[\n,]", text or "") if line.strip()]


class ContentItemForm(forms.ModelForm):
    """Shared machinery; subclasses list their content fields and how to build the content dict."""

    #: The revision the editor started from; a save based on an older one is refused.
    based_on = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    review_interval_days = forms.IntegerField(
        label=gettext_lazy("Review interval (days)"),
        required=False,
        min_value=1,
        max_value=MAX_REVIEW_INTERVAL_DAYS,
        help_text=gettext_lazy("How often this must be re-reviewed. Leave empty for the library's default."),
    )

    content_fields: tuple[str, ...] = ()
    #: Set by the admin when it binds the form again after the workflow refused the save: shown as errors.
    refusal: WorkflowError | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stale_revision: Revision | None = None
        latest = self.instance.latest_revision if self.instance.pk else None
        if latest is not None:
            for name, value in self.content_initial(latest.content).items():
                if name in self.fields:
                    self.fields[name].initial = value
            self.fields["based_on"].initial = latest.pk
            self.fields["review_interval_days"].initial = self.instance.review_interval_days
            if self.instance.state not in workflow.TRANSITIONS["save_draft"].sources:
                # In review or archived: content is frozen until the editor withdraws or restores it.
                for name in self.content_fields:
                    if name in self.fields:
                        self.fields[name].disabled = True

    # -- to override
    def content_initial(self, content: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def build_content(self) -> dict[str, Any]:
        """The content dict the workflow saves, from the cleaned data."""
        raise NotImplementedError

    def cleaned_for_hash(self, content: dict[str, Any]) -> dict[str, Any]:
        """``content`` normalised as the workflow stores it, to compare it with the latest revision's hash."""
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        # Said here, not by the hidden field itself, so the editor sees the reason above the form.
        if self.instance.pk is not None and not cleaned.get("based_on"):
            raise forms.ValidationError(
                _(
                    "The form did not say which revision you started from, so nothing was saved. Reload the page and make your change again."
                ),
                code="no_base",
            )
        if self.refusal is not None:
            self.show_refusal(self.refusal)
        return cleaned

    def show_refusal(self, refusal: WorkflowError) -> None:
        """The workflow's refusal of this data as form errors (reads the database, writes nothing)."""
        if isinstance(refusal, StaleVersion):
            self._stale(refusal)
        elif isinstance(refusal, InvalidContent):
            self._invalid(refusal)
        else:
            self.add_error(None, refusal.message)

    def _stale(self, exc: StaleVersion) -> None:
        current = type(self.instance).objects.select_related("latest_revision").get(pk=self.instance.pk)
        seen = Revision.objects.filter(pk=self.cleaned_data.get("based_on"), item=current).first()
        fields = changed_fields(seen.content if seen else None, current.latest_revision.content)
        message = exc.message
        if fields:
            message += " " + _("They changed: %(fields)s.") % {
                "fields": ", ".join(str(self.field_label(name)) for name in fields)
            }
        message += " " + _(
            "Your text is still below and was not saved. Compare it with their version; "
            "saving again will replace their revision with your text."
        )
        self.add_error(None, message)
        # The editor has now seen the newer revision's details: a deliberate second save may build on it.
        data = self.data.copy()
        data[self.add_prefix("based_on")] = str(current.latest_revision_id)
        self.data = data
        self.stale_revision = current.latest_revision

    def field_label(self, name: str) -> Any:
        field = self.fields.get(name)
        return field.label if field is not None and field.label else name.replace("_", " ")

    def _invalid(self, exc: InvalidContent) -> None:
        # Always at least one error: a refused form must not validate (the admin would save it again).
        if not any(exc.errors.values()):
            self.add_error(None, exc.message)
            return
        for key, messages in exc.errors.items():
            match = _ERROR_KEY.match(key)
            field = match.group("field") if match else None
            if field == "references" and match.group("index") is not None:
                prefix = _("Reference %(n)d") % {"n": int(match.group("index")) + 1}
                if match.group("sub"):
                    prefix += f" ({match.group('sub')})"
                messages = [f"{prefix}: {m}" for m in messages]
            target = field if field in self.fields and field not in self._frozen_fields() else None
            for message in messages:
                self.add_error(target, message)

    def _frozen_fields(self) -> set[str]:
        return {name for name, field in self.fields.items() if field.disabled}


class ArticleAdminForm(ContentItemForm):
    title = forms.CharField(
        label=gettext_lazy("Title"), max_length=200, widget=forms.TextInput(attrs={"class": "vLargeTextField"})
    )
    summary = forms.CharField(
        label=gettext_lazy("Summary"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One or two plain sentences. Readers see it first; search engines show it."),
    )
    body = forms.CharField(
        label=gettext_lazy("Body"),
        required=False,
        widget=AdminMarkdownxWidget(attrs={"rows": 18}),
        help_text=gettext_lazy("Markdown. Use ## for section headings. The preview shows what readers will see."),
    )
    references = forms.CharField(
        label=gettext_lazy("References"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "vLargeTextField"}),
        help_text=gettext_lazy(
            "One reference per line: Title | Publisher | https://address | Year. "
            "Example: Immunotherapy to Treat Cancer | National Cancer Institute | https://www.cancer.gov/ | 2022"
        ),
    )

    content_fields = ARTICLE_FIELDS

    class Meta:
        model = Article
        fields = ["slug", "article_type", "topics", "owner"]

    def clean_references(self):
        return text_to_references(self.cleaned_data.get("references", ""))

    def content_initial(self, content):
        return {
            "title": content["title"],
            "summary": content["summary"],
            "body": content["body"],
            "references": references_to_text(content["references"]),
        }

    def build_content(self):
        data = self.cleaned_data
        return {
            "title": data["title"],
            "summary": data.get("summary", ""),
            "body": data.get("body", ""),
            "references": data.get("references") or [],
        }

    def cleaned_for_hash(self, content):
        return clean_article_content(content)


class GlossaryTermAdminForm(ContentItemForm):
    term = forms.CharField(
        label=gettext_lazy("Term"), max_length=200, widget=forms.TextInput(attrs={"class": "vLargeTextField"})
    )
    aliases = forms.CharField(
        label=gettext_lazy("Also known as"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Other names, one per line or separated by commas."),
    )
    pronunciation = forms.CharField(label=gettext_lazy("Pronunciation"), required=False, max_length=200)
    short_definition = forms.CharField(
        label=gettext_lazy("Short definition"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One plain sentence, shown in tooltips and lists."),
    )
    full_definition = forms.CharField(
        label=gettext_lazy("Full definition"), required=False, widget=AdminMarkdownxWidget(attrs={"rows": 8})
    )
    professional_definition = forms.CharField(
        label=gettext_lazy("Definition for health professionals"),
        required=False,
        widget=AdminMarkdownxWidget(attrs={"rows": 6}),
    )
    related_terms = forms.CharField(
        label=gettext_lazy("Related terms"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Web addresses (slugs) of related glossary terms, one per line."),
    )

    content_fields = TERM_FIELDS

    class Meta:
        model = GlossaryTerm
        fields = ["slug", "owner"]

    def content_initial(self, content):
        return {
            **{name: content[name] for name in self.content_fields if name not in ("aliases", "related_terms")},
            "aliases": "\n".join(content["aliases"]),
            "related_terms": "\n".join(content["related_terms"]),
        }

    def build_content(self):
        data = self.cleaned_data
        return {
            "term": data["term"],
            "aliases": lines_to_list(data.get("aliases", "")),
            "pronunciation": data.get("pronunciation", ""),
            "short_definition": data["short_definition"],
            "full_definition": data.get("full_definition", ""),
            "professional_definition": data.get("professional_definition", ""),
            "related_terms": lines_to_list(data.get("related_terms", "")),
        }

    def cleaned_for_hash(self, content):
        return clean_term_content(content, own_slug=self.instance.slug)


class ActionForm(forms.Form):
    """What every workflow-action POST carries: the revision the user saw, and maybe a comment."""

    revision = forms.IntegerField(required=False)
    based_on = forms.IntegerField(required=False)
    comment = forms.CharField(required=False, max_length=workflow.MAX_COMMENT)
    change_summary = forms.CharField(required=False, max_length=workflow.MAX_CHANGE_SUMMARY)
    publish_at = forms.DateTimeField(
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    expires_in_days = forms.IntegerField(required=False, min_value=1, max_value=30)
    #: Archive only: the web address (slug) of the live page that replaces the archived one.
    replacement = forms.SlugField(required=False, max_length=200)

    def clean_publish_at(self):
        value = self.cleaned_data.get("publish_at")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class ProblemReportForm(forms.Form):
    """A reader's report of a problem with an article. ``website`` is a honeypot: people never see it."""

    message = forms.CharField(
        label=gettext_lazy("What is wrong on this page?"),
        help_text=gettext_lazy("For example: a fact that looks wrong or out of date, a broken link, a confusing part."),
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        max_length=MAX_MESSAGE,
        # Stored exactly as typed; a message of blanks only is refused in clean_message.
        strip=False,
    )
    email = forms.EmailField(
        label=gettext_lazy("Your email (optional)"),
        help_text=gettext_lazy(
            "Only if you are happy for an editor to ask you about it. We do not use it for anything else."
        ),
        required=False,
        # The model's column: a longer address passes the validator but would not fit (PostgreSQL refuses it).
        max_length=ProblemReport._meta.get_field("email").max_length,
    )
    website = forms.CharField(
        label=gettext_lazy("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_message(self) -> str:
        message = self.cleaned_data["message"]
        if not message.strip():
            raise forms.ValidationError(gettext_lazy("Please tell us what is wrong."))
        return message

    @property
    def from_a_bot(self) -> bool:
        """True when the honeypot was filled in: answered like a real report, stored nowhere."""
        return bool(self.cleaned_data.get("website"))


class CloseReportForm(forms.Form):
    """An editor closes a reader report: what was done about it."""

    note = forms.CharField(
        label=gettext_lazy("Closing note"),
        help_text=gettext_lazy("What was done, e.g. “Fixed in revision 7” or “Checked: the page is correct”."),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=MAX_NOTE,
    )
