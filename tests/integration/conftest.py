from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ledger_checks import runs_counter_drift

DB_FIXTURES = ("db", "transactional_db", "django_db_reset_sequences", "live_server")


@pytest.fixture(autouse=True)
def _ledger_balanced(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every integration test: each run's counters equal its delivery rows.

    Checked while the test's database still exists (this fixture depends on pytest-django's
    database helper, so it is torn down first) and possibly while the worker still writes:
    `runs_counter_drift` reads one snapshot."""
    uses_db = request.node.get_closest_marker("django_db") is not None or any(
        name in request.fixturenames for name in DB_FIXTURES
    )
    if not uses_db:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    drift = runs_counter_drift()
    assert drift == [], (
        "run counters differ from their delivery rows after the test "
        "(every writer must go through the ledger):\n  " + "\n  ".join(drift)
    )
