"""Helpers shared by the merge/journal/duplicates admin tests."""

from __future__ import annotations

from html.parser import HTMLParser

from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from tests.factories import UserFactory

PREVIEW = reverse("admin:profiles_person_merge_preview")


def staff_with(*codenames: str):
    """A staff user holding exactly these profiles permissions (codenames)."""
    user = UserFactory()
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="profiles", codename__in=codenames)
    )
    return user


def change_url(person) -> str:
    return reverse("admin:profiles_person_change", args=[person.pk])


def pick_url(person) -> str:
    return reverse("admin:profiles_person_merge", args=[person.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


class _FormParser(HTMLParser):
    """The fields of one <form> as a browser would submit them (unchecked boxes left out)."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.data = form_id, False, MultiValueDict()
        self._textarea: str | None = None
        self._select: str | None = None
        self._option: str | None = None
        self._selected: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = self.form_id is None or attrs.get("id") == self.form_id
            return
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if kind not in ("submit", "button", "image", "file"):
                self.data.appendlist(name, attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.appendlist(name, "")
        elif tag == "select" and name:
            self._select, self._selected = name, []
        elif tag == "option" and self._select:
            self._option = attrs.get("value")
            if "selected" in attrs:
                self._selected.append(self._option or "")

    def handle_data(self, data):
        if self._textarea:
            values = self.data.getlist(self._textarea)
            values[-1] += data
            self.data.setlist(self._textarea, values)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            for value in self._selected:
                self.data.appendlist(self._select, value)
            self._select = None


def form_data(response, form_id: str | None = None) -> dict:
    """What submitting the page's form (by id; the first POST form if None) would send:
    a dict of lists for multi-valued names, plain values otherwise (the test client's form)."""
    parser = _FormParser(form_id)
    parser.feed(response.content.decode())
    return {key: values if len(values) > 1 else values[0]
            for key, values in parser.data.lists()}
