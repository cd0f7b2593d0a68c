"""schemathesis over both APIs, from the schema drf-spectacular serves, with authenticated
calls: every answer must be one the schema documents (status, content type and body), and
none may be a server error.

The run is bounded and deterministic (a fixed number of examples per operation, Hypothesis
derandomized) so that it takes the same time and finds the same things on every CI run. Each
generated case is sent as generated (unknown ids: the 404s, the 400s of negative cases) and,
where its path names an object, once more with the ids of seeded objects, so that the
success answers are checked against their schemas too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Seeded
from tests.api_fixtures import basic_auth

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation in the fuzzing phase; the examples and coverage phases add their own
# cases. About 40 s for the 14 operations on 2 cores, on either backend.
MAX_EXAMPLES = 100


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 12,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    }
)
# Loaded at collection from the served schema: one test per operation.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/", WSGIHandler(), config=CONFIG, headers={"Accept": "application/json"}
)


@pytest.fixture
def app_in_this_thread() -> Iterator[None]:
    """The app runs in this thread, on the test's connection and inside its transaction: a
    request's end must not close that connection, as Django's own test client ensures."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def credentials(case: Any, seeded: Seeded) -> dict[str, str]:
    if case.path.startswith("/api/sdk/"):
        return {"Authorization": basic_auth(seeded.sdk_key)}
    return {"Authorization": f"Bearer {seeded.api_token}"}


@schema.parametrize()
# The seeded objects are shared by every example of an operation on purpose: they are what
# the examples read and change.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_answer_is_one_the_schema_documents(
    case: Any, seeded: Seeded, app_in_this_thread: None
) -> None:
    headers = credentials(case, seeded)
    case.call_and_validate(headers=headers, checks=CHECKS)
    if case.path_parameters:
        known = {name: seeded.path_parameters[name] for name in case.path_parameters}
        if known != case.path_parameters:
            case.path_parameters = known
            case.call_and_validate(headers=headers, checks=CHECKS)
