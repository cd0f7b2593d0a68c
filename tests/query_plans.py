"""Helpers for the tests that read PostgreSQL's query plans: the statements a call runs, and
a fixture that skips where there is no planner with statistics (SQLite)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction


@pytest.fixture
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner; CI's PostgreSQL pass runs it (SQLite has no statistics)")


def statements_of(call: Any) -> list[tuple[str, Any]]:
    """The statements `call` runs, rolled back."""
    seen: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(record):
        call()
        transaction.set_rollback(True)
    return seen


def plan_of(sql: str, params: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
