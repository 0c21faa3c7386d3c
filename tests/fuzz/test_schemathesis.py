"""The API answers every generated request: schemathesis over the OpenAPI document, on the demo data,
as an NGO, treasury, audit and the administrator. No server error, and every response is what the
document declares (status code, content type, body schema).

Requests that end the caller's own session or change its user (revoking tokens, passwords, user
changes) run in a last phase, so they do not cut the other operations short.

``FONDOS_FUZZ_EXAMPLES`` sets the examples per operation and generation mode (default 10: about
12,500 requests, about a minute here, within the 3 minutes the step may take). Generation is
derandomized: a failure found once is found again on the same code."""
from __future__ import annotations

import os
import re
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from grants import clock
from grants.audit import Actor
from grants.db import unit_of_work
from grants.demo import load_demo
from tests.conftest import TestDatabase, dispose, make_app, pg_available

ROLES = ("ngo2", "treasury", "auditor", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("FONDOS_FUZZ_EXAMPLES", "10"))
LAST = ("/api/v1/auth/", "/api/v1/users")  # may end the caller's session or change its user


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory):
    backend = "postgresql" if pg_available() or os.environ.get("CI") else "sqlite"
    database = TestDatabase(backend, tmp_path_factory.mktemp("fuzz"))
    app = make_app(database, LOGIN_THROTTLE_ENABLED=False)
    with app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
    yield app
    dispose(app)
    database.drop()


def _tokens(app) -> dict[str, str]:
    client = app.test_client()
    tokens = {}
    for who in ROLES:
        response = client.post("/api/v1/auth/tokens", json={"email": f"{who}@fondos.example.org",
                                                             "password": "demo-2026"})
        assert response.status_code == 201, response.get_data(as_text=True)
        tokens[who] = response.get_json()["token"]
    return tokens


def _aim_at_demo_objects(case) -> None:
    """Random ids almost never exist: three in four generated ids are folded onto the demo's first
    objects (1..8) and years onto the demo's, so requests reach real plans, payments and reports."""
    for name, value in list((case.path_parameters or {}).items()):
        if isinstance(value, int) and not isinstance(value, bool) and value % 4:
            case.path_parameters[name] = clock.today().year - value % 2 if name == "year" else 1 + value % 8


def _summary(exc: BaseException) -> str:
    """One line per distinct failure: what was violated and where in the document."""
    text = str(exc)
    parts = [line.strip("- ").strip() for line in text.splitlines() if line.startswith("- ")]
    where = re.findall(r"Schema at (\S+):", text)
    detail = next((line.strip() for line in text.splitlines()[3:6] if line.strip()), "")
    return "; ".join(parts) + (f" at {where[0]}" if where else "") + f" ({detail[:160]})"


def _sweep(schema, operations, tokens, outcomes: Counter, failures: set) -> None:
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(operation.as_strategy(generation_mode=mode))
            def run(case):
                _aim_at_demo_objects(case)
                for who, token in tokens.items():
                    response = case.call(headers={"Authorization": f"Bearer {token}"})
                    outcomes[response.status_code] += 1
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except BaseException as exc:  # noqa: B036 - a check failed: keep going, report them all
                        failures.add(f"{operation.label} [{mode.value}] -> {response.status_code}: {_summary(exc)}")
            try:
                run()
            except Unsatisfiable:  # nothing in this operation can be made invalid (no parameters, no body)
                continue
            except BaseException as exc:  # noqa: B036 - a strategy that cannot generate is a broken document too
                failures.add(f"{operation.label} [{mode.value}]: cannot generate: {str(exc)[:300]}")


def test_every_operation_as_every_role(fuzzed_app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 150
    first = [op for op in operations if not op.path.startswith(LAST)]
    last = [op for op in operations if op.path.startswith(LAST)]
    outcomes: Counter = Counter()
    failures: set[str] = set()
    started = time.monotonic()
    _sweep(schema, first, _tokens(fuzzed_app), outcomes, failures)
    _sweep(schema, last, _tokens(fuzzed_app), outcomes, failures)
    print(f"\nschemathesis: {sum(outcomes.values())} requests over {len(operations)} operations in "
          f"{time.monotonic() - started:.0f} s; by status: {dict(sorted(outcomes.items()))}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(failures)[:150])
    assert outcomes and max(outcomes) < 500
