"""Admin for the profiles app, one module per area."""

from profiles.admin import activity, person  # noqa: F401
