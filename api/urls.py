from django.urls import path, re_path

from api.views import demo, ingest

app_name = "api"

# The trailing slash is optional: a POST must never be redirected (it would lose its body).
urlpatterns = [
    re_path(r"^api/v1/identify/?$", ingest.identify, name="identify"),
    re_path(r"^api/v1/track/?$", ingest.track, name="track"),
    re_path(r"^api/v1/chat/?$", ingest.chat, name="chat"),
    re_path(r"^api/v1/batch/?$", ingest.batch, name="batch"),
    re_path(r"^api/", ingest.not_found, name="not_found"),  # any other path or API version
    path("onefold.js", demo.snippet, name="snippet"),
    path("demo/", demo.shop, name="demo"),
    path("demo/sign", demo.sign_login, name="demo_sign"),
]
