from __future__ import annotations

# Fixtures are imported (not pytest_plugins: pytest only honours that in the root conftest).
from tests.delivery_fixtures import make_devices, push_app, scripted_transport  # noqa: F401
