"""The throttles' leases, against the real shared count (Redis on the PostgreSQL run, the
database's counter row on SQLite)."""

from __future__ import annotations

import pytest

from pushmarketing.core import throttling as throttle
from tests.api_fixtures import clear_throttle_counts

NAME, WINDOW = "pm:throttle:sdk_app:test-key:60", 1
LEASE = (NAME, WINDOW)  # this process's lease on it


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_windows(db: None) -> None:
    clear_throttle_counts()


def test_lease_is_one_percent_of_the_limit_capped():
    assert [throttle.lease_size(n) for n in (3, 99, 100, 1000, 3000, 10**8)] == [
        1, 1, 1, 10, 25, 25,
    ]  # fmt: skip


def test_one_process_admits_exactly_the_limit_claiming_a_lease_at_a_time():
    assert all(throttle.admit(NAME, WINDOW, limit=1000, ttl=61) for _ in range(995))
    assert throttle.add_hits(NAME, WINDOW, 0, ttl=61) == 1000  # 100 claims of 10, not 995 counts
    admitted = [throttle.admit(NAME, WINDOW, limit=1000, ttl=61) for _ in range(10)]
    assert admitted == [True] * 5 + [False] * 5


def test_processes_together_never_pass_the_limit():
    # Three processes (their local leases swapped in and out) take turns on one window.
    leases: list[dict[str, int]] = [{}, {}, {}]
    admitted = 0
    for call in range(1200):
        throttle._leases.clear()
        throttle._leases.update(leases[call % 3])
        admitted += throttle.admit(NAME, WINDOW, limit=1000, ttl=61)
        leases[call % 3] = dict(throttle._leases)
    unspent = sum(lease.get(LEASE, 0) for lease in leases)
    assert admitted + unspent == 1000  # refused early: only hits still leased elsewhere
    assert unspent <= 3 * throttle.lease_size(1000)


def test_a_claim_crossing_the_limit_gets_only_what_is_left():
    throttle.add_hits(NAME, WINDOW, 998, ttl=61)  # other processes took 998 of 1000
    assert [throttle.admit(NAME, WINDOW, limit=1000, ttl=61) for _ in range(3)] == [
        True,
        True,
        False,
    ]


def test_a_new_window_drops_the_old_windows_leftovers():
    throttle.admit(NAME, WINDOW, limit=1000, ttl=61)
    assert throttle._leases == {LEASE: 9}
    throttle.admit(NAME, WINDOW + 1, limit=1000, ttl=61)
    assert throttle._leases == {(NAME, WINDOW + 1): 9}


def test_apps_keep_their_own_leases():
    other = "pm:throttle:sdk_app:other-key:60"
    for _ in range(3):
        assert throttle.admit(NAME, WINDOW, limit=1000, ttl=61)
        assert throttle.admit(other, WINDOW, limit=1000, ttl=61)
    assert throttle._leases == {LEASE: 7, (other, WINDOW): 7}
    assert throttle.add_hits(NAME, WINDOW, 0, ttl=61) == 10  # one claim each, nothing forfeited
