"""The tracking snippet (served by a view, so it works without collectstatic) and the demo shop."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from profiles.services.sites import (
    DEMO_WRITE_KEY,
    demo_is_on,
    demo_site,
    email_hash,
    user_hash,
)
from profiles.services.validation import InvalidInput, clean_email, clean_id

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
    """A small shop using the snippet: browse, chat, log in, log out. With ONEFOLD_DEMO only;
    its site is created by `manage.py seed_demo`, never here."""
    if not demo_is_on():
        raise Http404("The demo shop is off (set ONEFOLD_DEMO=true).")
    if demo_site() is None:
        return HttpResponse(
            "The demo shop has no site yet: run `manage.py seed_demo`.",
            status=503, content_type="text/plain; charset=utf-8",
        )
    product = next((p for p in PRODUCTS if p["sku"] == request.GET.get("product")), None)
    page_properties = (
        {"product": product["sku"], "category": product["category"]} if product else {}
    )
    return render(
        request,
        "api/demo_shop.html",
        {
            "write_key": DEMO_WRITE_KEY,
            "products": PRODUCTS,
            "product": product,
            "page_properties": page_properties,
        },
    )


@require_POST
def sign_login(request: HttpRequest) -> JsonResponse:
    """The demo shop's server side of a login: the HMACs its page sends with identify, as a
    real site's server computes them for the visitor who logged in. The demo lets anyone log
    in as anyone, so this signs whatever it is given: one more reason the demo is never on in
    production. POST with the page's CSRF token: other sites' pages cannot ask for a hash."""
    site = demo_site() if demo_is_on() else None
    if site is None:
        raise Http404("The demo shop is off.")
    try:
        body = json.loads(request.body or b"{}")
        user_id = clean_id("user_id", body.get("user_id"), required=True)
        email = clean_email("email", body.get("email"))
    except (ValueError, AttributeError):
        return JsonResponse({"error": {"field": "body", "message": "invalid JSON"}}, status=400)
    except InvalidInput as exc:
        return JsonResponse({"error": {"field": exc.field, "message": exc.text}}, status=400)
    signed = {"user_id": user_id, "user_hash": user_hash(site=site, user_id=user_id)}
    if email:
        signed["email_hash"] = email_hash(site=site, email=email)
    return JsonResponse(signed)
