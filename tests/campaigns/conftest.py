from __future__ import annotations

pytest_plugins = ["tests.campaign_fixtures"]
