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
]
