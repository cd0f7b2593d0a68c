"""After each integration test: every run's counters equal its delivery rows (issue 10: the
ledger is the only writer of both, in one transaction, so this holds at every commit, also
while a worker is still busy)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from campaigns.ledger.counters import runs_counter_drift


@pytest.fixture(autouse=True)
def _counters_equal_rows(transactional_db: None) -> Iterator[None]:
    # Depends on transactional_db so that it is torn down before the database is flushed.
    yield
    assert runs_counter_drift() == [], "run counters differ from their delivery rows"
