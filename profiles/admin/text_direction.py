"""Text-direction controls in what staff read are shown, not applied.

A name such as "John \\u202egnp.exe" contains RIGHT-TO-LEFT OVERRIDE: a browser draws it as
"John exe.png", and a runaway override can reverse the text after it on the line too (the ID
number, the next column). Anyone can send such text (identify traits, chat), so every admin
page shows these characters as a visible marker ("John [RLO]gnp.exe") instead of obeying them.

One place does it for every admin page — Django's own (lists, history, breadcrumbs, messages),
ours and the autocomplete's JSON: `DirectionControlsMiddleware` rewrites the text of admin
responses. Only displayed text is rewritten; form fields (input values, textareas) keep the
value as stored, so saving a form never changes text staff did not edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

# The embedding, override and isolate controls (Unicode's "Trojan Source" set).
CONTROLS = {
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
}
_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROL_UTF8 = re.compile(rb"\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
_CONTROL_JSON = re.compile(rb"(?<!\\)((?:\\\\)*)\\u(202[a-eA-E]|206[6-9])")
# Tags and comments (left alone), and elements whose text is not displayed as HTML: scripts,
# styles and textareas (form values) are left alone, a title gets plain text.
_HTML_TOKEN = re.compile(
    r"<(?P<raw>script|style|textarea|title)\b[^>]*>(?P<inner>.*?)</(?P=raw)\s*>"
    r"|<!--.*?-->|<[^>]*>",
    re.S | re.I,
)
MARKER = ('<span class="direction-control" style="color:var(--error-fg);font-size:0.85em" '
          'title="A hidden text-direction character ({name}) is here; it is shown instead of '
          'applied.">[{name}]</span>')


def reveal(text: str, *, html: bool = True) -> str:
    """`text` (escaped HTML, or plain with html=False) with each control as a marker."""
    if html:
        return _CONTROL.sub(lambda match: MARKER.format(name=CONTROLS[match.group()]), text)
    return _CONTROL.sub(lambda match: f"[{CONTROLS[match.group()]}]", text)


def reveal_in_html(document: str) -> str:
    """Rewrite the displayed text of an HTML page, leaving tags and form values alone."""
    out, position = [], 0
    for token in _HTML_TOKEN.finditer(document):
        out.append(reveal(document[position:token.start()]))
        raw = (token.group("raw") or "").lower()
        if raw == "title":
            inner = token.group("inner")
            start = token.start("inner") - token.start()
            whole = token.group()
            out.append(whole[:start] + reveal(inner, html=False) + whole[start + len(inner):])
        else:
            out.append(token.group())
        position = token.end()
    out.append(reveal(document[position:]))
    return "".join(out)


def _reveal_json(content: bytes) -> bytes:
    """Markers for the controls in a JSON body, raw or written as \\u escapes."""
    def escaped(match: re.Match[bytes]) -> bytes:
        name = CONTROLS[chr(int(match.group(2), 16))]
        return match.group(1) + f"[{name}]".encode()

    content = _CONTROL_UTF8.sub(lambda m: f"[{CONTROLS[m.group().decode()]}]".encode(), content)
    return _CONTROL_JSON.sub(escaped, content)


class DirectionControlsMiddleware:
    """Applies `reveal_in_html` to admin HTML pages and the markers to admin JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.streaming or not request.path.startswith(reverse("admin:index")):
            return response
        if getattr(response, "is_rendered", True) is False:
            # A TemplateResponse returned by a middleware is rendered after us.
            response.add_post_render_callback(_reveal_response)
            return response
        return _reveal_response(response)


def _reveal_response(response: HttpResponse) -> HttpResponse:
    kind = response.get("Content-Type", "")
    if kind.startswith("text/html") and _CONTROL_UTF8.search(response.content):
        charset = response.charset or "utf-8"
        response.content = reveal_in_html(response.content.decode(charset)).encode(charset)
    elif kind.startswith("application/json"):
        response.content = _reveal_json(response.content)
    return response
