"""The Segment tracking API's paths, under `ONEFOLD_SEGMENT_PREFIX` (crm/urls.py): /v1/… by
default. A trailing slash is optional: a POST must never be redirected (it would lose its
body)."""

from django.urls import path, re_path

from api.segment.settings import project_settings
from api.segment.views import VIEWS, unknown_path

app_name = "segment"

urlpatterns = [
    *(re_path(rf"^v1/{name}/?$", view, name=name) for name, view in VIEWS.items()),
    path("v1/projects/<str:write_key>/settings", project_settings, name="settings"),
    re_path(r"^v1/", unknown_path, name="not_found"),
]
