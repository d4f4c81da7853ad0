"""Onefold settings: one module, read from the environment with django-environ."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -----------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# A secret only has a default in debug: production must set DJANGO_SECRET_KEY or fail to start.
SECRET_KEY = env("DJANGO_SECRET_KEY") if not DEBUG else env(
    "DJANGO_SECRET_KEY", default="onefold-insecure-debug-only-key"
)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
DATA_DIR = Path(env("ONEFOLD_DATA_DIR", default=str(BASE_DIR / "var"))).resolve()

# --- Applications -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    "profiles",
    "dedup",
    "api",
    "segments",
]

MIDDLEWARE = [
    "api.middleware.ApiHostMiddleware",  # a bad Host on /api/: a JSON 400, not a logged error
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # A NUL in an admin parameter is a 400 here, not a database error in the view.
    "profiles.admin.request_guard.AdminNulGuardMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Admin pages show dates in the zone of the viewer's browser.
    "profiles.admin.viewer_zone.ViewerTimeZoneMiddleware",
    # Text-direction controls in admin pages are shown as markers, not applied (after
    # CommonMiddleware in the list, so it runs first on the response and Content-Length follows).
    "profiles.admin.text_direction.DirectionControlsMiddleware",
    # Last, as django-axes requires: answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
# Admin messages in the session, not in a cookie: the one-time message that shows a new write key
# or verification secret must not travel back and forth in a (signed, readable) cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
WSGI_APPLICATION = "crm.wsgi.application"
ASGI_APPLICATION = "crm.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
SQLITE_OPTIONS = {
    # WAL lets the web process and the worker write at once; IMMEDIATE takes the write lock at
    # BEGIN so two writers queue on the busy timeout instead of failing with "database is locked".
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}


def database_config(url: str | None) -> dict:
    """Parse DATABASE_URL; default to an SQLite file in the data directory."""
    if not url:
        url = f"sqlite:///{DATA_DIR / 'onefold.sqlite3'}"
    config = environ.Env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        config.setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    else:
        config.setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
    test_name = env("TEST_DATABASE_NAME", default=None)
    if test_name:
        config["TEST"] = {"NAME": test_name}
    return config


DATABASES = {"default": database_config(env("DATABASE_URL", default=None))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (API rate limits) -------------------------------------------------------------------
# Per-process memory by default; CACHE_URL=redis://127.0.0.1:6379/2 shares rate-limit counters
# between web processes and machines.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Website API ----------------------------------------------------------------------------
# The demo shop (/demo/) is served in debug or when ONEFOLD_DEMO=true.
ONEFOLD_DEMO = env.bool("ONEFOLD_DEMO", default=DEBUG)
# Dotted path to an enrichment provider class (see docs/api.md); empty = enrichment off.
ONEFOLD_ENRICHMENT_PROVIDER = env("ONEFOLD_ENRICHMENT_PROVIDER", default="")
# Each web process keeps a site looked up by its write key this long (saves a query on every
# API request). A key revoked in another process is refused at most this many seconds later;
# in the process that revoked it, at once. 0 turns the cache off.
ONEFOLD_SITE_CACHE_SECONDS = env.float("ONEFOLD_SITE_CACHE_SECONDS", default=2.0)
# Where the Segment tracking API is mounted: "" serves /v1/track…, "segment" /segment/v1/track…
# (what Segment's and RudderStack's clients are pointed at; see docs/api.md).
ONEFOLD_SEGMENT_PREFIX = env("ONEFOLD_SEGMENT_PREFIX", default="").strip("/")

# --- Auth, i18n, static -----------------------------------------------------------------------
# django-axes counts failed logins first (it refuses a locked-out attempt before the password
# is even checked), then Django's own backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates staff read: "2 Dec 2026, 14:05 CET", in the zone of the viewer's browser (the admin's
# ViewerTimeZoneMiddleware; TIME_ZONE until the browser said which).
FORMAT_MODULE_PATH = ["crm.formats"]
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
LOGIN_URL = "admin:login"

# --- Login throttling (django-axes; docs/admin.md, "Permissions and safety") ------------------
# After ONEFOLD_LOGIN_FAILURE_LIMIT wrong passwords for one username from one IP address, that
# pair is refused (HTTP 429, even with the right password) for ONEFOLD_LOGIN_COOLOFF_MINUTES.
# A pair, not the username alone: nobody can lock staff out from everywhere by guessing.
AXES_FAILURE_LIMIT = env.int("ONEFOLD_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ONEFOLD_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "crm.security.locked_out"
AXES_CLIENT_IP_CALLABLE = "crm.security.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False  # its start-up banner would be printed by every manage.py command
# How many reverse proxies (that each append to X-Forwarded-For) stand in front of the app:
# 0 = none, the client is REMOTE_ADDR (a client's own X-Forwarded-For is never trusted). The
# shipped nginx setup (deploy/nginx/onefold.conf) is 1. The login throttle and the API's
# per-client rate limit count by this address.
ONEFOLD_TRUSTED_PROXIES = env.int("ONEFOLD_TRUSTED_PROXIES", default=0)

# --- HTTPS in production (all from the environment; `check --deploy` is clean with them) -----
# Behind a proxy that terminates TLS: the header it sets to "https", e.g. X-Forwarded-Proto.
_proxy_ssl_header = env("DJANGO_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header
    else None
)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Celery -----------------------------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange tables of remote control (celery inspect/pidbox): kombu's default is a
        # "control" folder in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": 3600}
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dedup-tick": {"task": "dedup.tasks.tick_schedules", "schedule": 60.0},
    "segments-time-windows": {"task": "segments.tasks.refresh_time_windows", "schedule": 60.0},
}

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes logs every login at INFO; failures and lockouts are WARNING.
        "axes": {"level": "WARNING"},
    },
}
