"""Admin for the profiles app, one module per area."""

from profiles.admin import activity, journal, login_attempts, person, site  # noqa: F401
