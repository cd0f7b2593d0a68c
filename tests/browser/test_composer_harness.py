"""The browser harness itself: a missing Chromium skips locally and fails in CI."""

from __future__ import annotations

import pytest

from tests.browser import conftest as harness


def test_missing_browser_skips_with_a_reason(monkeypatch):
    monkeypatch.delenv("PM_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Browser tests skipped: no Chromium"):
        harness._unavailable("no Chromium was found")


def test_missing_browser_fails_when_required(monkeypatch):
    monkeypatch.setenv("PM_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="PM_REQUIRE_BROWSER=1"):
        harness._unavailable("no Chromium was found")


def test_chromium_path_honours_override(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("")
    monkeypatch.setenv("PM_CHROMIUM", str(fake))
    assert harness._chromium_path() == str(fake)
