"""The tracking snippet (served by a view, so it works without collectstatic) and the demo shop."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

SNIPPET = Path(__file__).resolve().parent.parent / "static" / "onefold" / "onefold.js"

PRODUCTS = [
    {"sku": "mug-otter", "name": "Otter mug", "category": "kitchen", "price": "12.00"},
    {"sku": "tee-fox", "name": "Fox T-shirt", "category": "clothing", "price": "24.00"},
    {"sku": "socks-owl", "name": "Owl socks", "category": "clothing", "price": "9.50"},
    {"sku": "lamp-heron", "name": "Heron lamp", "category": "home", "price": "58.00"},
]


@cache
def _snippet_source() -> str:
    return SNIPPET.read_text()


def snippet(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        _snippet_source(), content_type="application/javascript; charset=utf-8"
    )
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"  # loaded by the customer's pages
    return response


def shop(request: HttpRequest) -> HttpResponse:
    """A small shop using the snippet: browse, chat, log in, log out. Debug or ONEFOLD_DEMO only."""
    if not (settings.DEBUG or getattr(settings, "ONEFOLD_DEMO", False)):
        raise Http404("The demo shop is off (set ONEFOLD_DEMO=true).")
    from api.demo import ensure_demo_site

    _, key = ensure_demo_site()
    product = next((p for p in PRODUCTS if p["sku"] == request.GET.get("product")), None)
    page_properties = (
        {"product": product["sku"], "category": product["category"]} if product else {}
    )
    return render(
        request,
        "api/demo_shop.html",
        {
            "write_key": key,
            "products": PRODUCTS,
            "product": product,
            "page_properties": page_properties,
        },
    )
