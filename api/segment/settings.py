"""`GET /v1/projects/{writeKey}/settings`: what analytics.js loads before it sends anything.

The browser library (`@segment/analytics-next`, the analytics.js snippet) first fetches its
source's settings from its CDN URL. Pointed at Onefold (`cdnURL`), it gets settings whose one
destination is "Segment.io" with Onefold as its API host (this server, under the prefix the
settings were asked at), no device-mode destinations, no middleware or remote plugins to
download, and no metrics sent anywhere: the stock library then talks to Onefold alone.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from api.errors import ApiError
from api.http import authenticate, origin_allowed
from api.segment.envelope import refusal

SETTINGS_SUFFIX = "/projects/"


@require_safe
def project_settings(request: HttpRequest, write_key: str) -> HttpResponse:
    try:
        site = authenticate(request, key=write_key, how="the write key in the path")
    except ApiError as exc:
        return refusal(exc)
    # This path is <prefix>/v1/projects/<key>/settings: the API is at <prefix>/v1.
    api_path = request.path.rpartition(SETTINGS_SUFFIX)[0]
    response = JsonResponse(
        {
            "integrations": {
                "Segment.io": {
                    "apiKey": write_key,
                    "apiHost": f"{request.get_host()}{api_path}",
                    "protocol": request.scheme,
                    "unbundledIntegrations": [],
                    "addBundledMetadata": False,
                    "maybeBundledConfigIds": {},
                }
            },
            "plan": {
                "track": {"__default": {"enabled": True, "integrations": {}}},
                "identify": {"__default": {"enabled": True}},
                "group": {"__default": {"enabled": True}},
            },
            "edgeFunction": {},
            "analyticsNextEnabled": True,
            "middlewareSettings": {},
            "enabledMiddleware": {},
            "metrics": {"sampleRate": 0},
            "legacyVideoPluginsEnabled": False,
            "remotePlugins": [],
        }
    )
    origin = request.headers.get("Origin")
    if origin and origin_allowed(request, origin, site):
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    response["Cache-Control"] = "private, max-age=60"
    return response
