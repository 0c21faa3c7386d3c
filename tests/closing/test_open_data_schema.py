"""The open-data file (GET /api/v1/open-data/<year>.json) validates against the official OCDS 1.1.5
release package schema (vendored in tests/data/ocds-1.1.5, resolved locally: no network)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.closing import helpers as h
from tests.money import advance_helpers as ah
from tests.timeline import iso, year

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "ocds-1.1.5"
# jsonschema checks "date-time" and "uri" only with optional packages: the two formats OCDS uses,
# checked here as RFC 3339 and as an absolute URI.
FORMATS = jsonschema.FormatChecker(formats=())
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@FORMATS.checks("date-time")
def _date_time(value) -> bool:
    return not isinstance(value, str) or RFC3339.fullmatch(value) is not None


@FORMATS.checks("uri")
def _uri(value) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme)


def validator() -> jsonschema.Draft4Validator:
    schemas = {name: json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
               for name in ("release-schema", "release-package-schema")}
    registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)) for schema in schemas.values())
    return jsonschema.Draft4Validator(schemas["release-package-schema"], registry=registry,
                                      format_checker=FORMATS)


def errors_of(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator().iter_errors(document)]


@pytest.fixture
def published(app, client):
    ctx = h.setup()
    h.pay(ctx, "1234.56")
    h.account_for(ctx, ah.disbursed(ctx, 1), accepted=("30000.00",))  # and a confirmed refund
    h.report_indicator(ctx, iso("2026-02-01"), iso("2026-04-30"), "40")
    response = client.get(f"/api/v1/open-data/{year()}.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_open_data_file_validates_against_the_ocds_release_package_schema(published):
    assert len(published["releases"]) == 1
    assert errors_of(published) == []


def test_the_validator_does_refuse_what_ocds_forbids(published):
    """The check can fail: a release without its ocid, a value outside a closed codelist or a day
    written without its time is refused."""
    broken = copy.deepcopy(published)
    del broken["releases"][0]["ocid"]
    broken["releases"][0]["initiationType"] = "auction"  # a closed codelist: only "tender"
    broken["releases"][0]["date"] = "2026-04-30"
    found = errors_of(broken)
    assert any("'ocid' is a required property" in e for e in found)
    assert any("'auction' is not one of ['tender']" in e for e in found)
    assert any("'2026-04-30' is not a 'date-time'" in e for e in found)
