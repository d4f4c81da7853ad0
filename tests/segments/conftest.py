from tests.api.conftest import _fresh_rate_limits, post, site  # noqa: F401 (fixtures)
