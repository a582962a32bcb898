"""Object ids that views read themselves from query strings and form posts: the one parser.

Django checks most ids for us: path converters (``<int:pk>``), model fields' ``to_python`` and
its range-checked integer lookups. What is left are the places where a view or a form reads an
id itself (the history comparison, the reviewer filter, many-to-many choices, the admin's
selected rows); there an id goes through :class:`IdField`, Django's ``IntegerField`` bounded to
a database id, which refuses:

* numbers beyond 64 bits: SQLite raises OverflowError for them in lookups Django does not
  range-check (``__in``, foreign keys), a 500;
* digits of other scripts ("٣", "１２"): ``int()`` reads them, but no path converter does, so an
  id means the same in a query string as in a path (the one hand-written check, four lines);
* superscripts ("²"): ``str.isdigit()`` accepts them and ``int()`` refuses them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: The largest id a database row can have (BigAutoField: PostgreSQL ``bigint``, SQLite ``INTEGER``).
MAX_ID = 2**63 - 1


class IdField(forms.IntegerField):
    """A database id: the ASCII digits 0-9, from 1 to :data:`MAX_ID`."""

    default_error_messages = {"invalid": _("Enter an id: a whole number written with the digits 0-9.")}

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and value.strip() and not (value.strip().isascii() and value.strip().isdigit()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


_id_field = IdField(required=False)


def parse_id(value: Any) -> int | None:
    """``value`` as an id, or ``None`` when it is empty or not an id."""
    try:
        return _id_field.clean(value)
    except ValidationError:
        return None


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's field, with each posted choice read by :class:`IdField` before ``pk__in`` sees it."""

    def _check_values(self, value: Any):
        if not self.to_field_name and isinstance(value, (list, tuple)):
            for pk in value:
                if not isinstance(pk, self.queryset.model) and parse_id(pk) is None:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
        return super()._check_values(value)
