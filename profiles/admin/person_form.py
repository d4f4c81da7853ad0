"""The person form: the fields staff edit, with the values the page was opened with.

Every field carries its opened value in a hidden input (Django's `show_hidden_initial`), so
`changed_data` is what staff changed on the page — not what differs from the row now — and
`apply_staff_edit` can refuse a field somebody else changed meanwhile.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from profiles.models import Person
from profiles.services.attributes import MAX_BYTES, MAX_KEYS, clean_custom_attributes, custom_part
from profiles.services.people import STAFF_FIELDS, holder_of_user_id

RELOAD = ("This form is missing the values it was opened with (an old page or another "
          "program): reload the page and make your change again.")


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = list(STAFF_FIELDS)
        labels = {"attributes": "Custom attributes"}
        help_texts = {
            "attributes": (
                f'A JSON object, e.g. {{"plan": "pro"}}: at most {MAX_KEYS} attributes and '
                f"{MAX_BYTES // 1024} KB. The profiling below is kept by Onefold and cannot be "
                "edited here."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "attributes" in self.fields:
            # Staff edit the custom attributes; the profiling ones are shown read-only.
            self.initial["attributes"] = custom_part(self.instance.attributes)
        if self.instance.pk is not None:
            for field in self.fields.values():
                field.show_hidden_initial = True

    def clean_user_id(self) -> str | None:
        """Refused here, not by a database error on save (see holder_of_user_id)."""
        user_id = (self.cleaned_data.get("user_id") or "").strip() or None
        if user_id is None:
            return None
        holder = holder_of_user_id(user_id=user_id, excluding=self.instance.pk)
        if holder is not None:
            raise ValidationError(
                f"This user ID already belongs to {holder.display_name} (#{holder.pk})."
            )
        return user_id

    def clean_attributes(self) -> dict[str, Any]:
        try:
            return clean_custom_attributes(self.cleaned_data.get("attributes"),
                                           stored=self.instance.attributes)
        except ValidationError as error:
            raise ValidationError(" ".join(error.messages)) from error

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk is not None and self.is_bound:
            try:
                self.opened_values()
            except (KeyError, ValidationError) as error:
                raise ValidationError(RELOAD, code="reload") from error
        return cleaned

    def opened_values(self) -> dict[str, Any]:
        """Each field's value when the page was opened (from its hidden input)."""
        opened = {}
        for name, field in self.fields.items():
            bound = self[name]
            if bound.html_initial_name not in self.data:
                raise KeyError(bound.html_initial_name)
            raw = self._widget_data_value(field.hidden_widget(), bound.html_initial_name)
            opened[name] = field.to_python(raw)
        return opened

    def staff_changes(self) -> dict[str, Any]:
        """The fields staff changed on the page, with their new values."""
        return {name: self.cleaned_data[name] for name in self.changed_data}
