from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Onefold"
admin.site.site_title = "Onefold CRM"
admin.site.index_title = "One profile per real person"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("api.urls")),  # /api/v1/…, /onefold.js, /demo/
    # The Segment tracking API: /v1/… under the operator's prefix (ONEFOLD_SEGMENT_PREFIX).
    path(f"{settings.ONEFOLD_SEGMENT_PREFIX}/" if settings.ONEFOLD_SEGMENT_PREFIX else "",
         include("api.segment.urls")),
]
