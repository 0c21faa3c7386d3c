"""Every input is answered (issue 11): the classes of input that once gave a 500, tried on every
operation of the OpenAPI document and every page of the site, not on one example each.

* integers that do not fit the database (page numbers, ids, body fields) → 4xx, never
  "bigint out of range";
* NUL and other control characters in any text field, query parameter or header → 422 naming the
  field, on the API and on the pages (login form included);
* a PATCH that changes nothing → 422;
* the document itself: every integer a client may send is bounded, every error is problem+json.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from grants.extensions import db
from grants.input_guard import INT_MAX
from grants.models import AuditEvent
from tests.factories import make_agreement_in_execution, make_user
from tests.helpers import api_headers, csrf_token, login

HUGE = "10000000000000000000"  # past a signed 64-bit integer
CONTROLS = ["a\x00b", "\x14", "x\x1b[31m", "\x7f", "fin\x00"]


def _spec(client) -> dict:
    return client.get("/api/openapi.json").get_json()


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema or len(schema.get("allOf", [])) == 1:  # a PATCH body: allOf [ref] + minProperties
        schema = (spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema
                  else schema["allOf"][0])
    return schema


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _operations(spec: dict, *methods: str):
    for path, item in sorted(spec["paths"].items()):
        for method in methods:
            if method in item:
                yield path, method, item[method]


def _json_body_schema(spec: dict, operation: dict) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return _resolve(spec, content["application/json"]["schema"])


def _writable(spec: dict, schema: dict) -> dict[str, dict]:
    return {name: _resolve(spec, prop) for name, prop in schema.get("properties", {}).items()
            if not prop.get("readOnly")}


@pytest.fixture
def world(client):
    people = make_agreement_in_execution()
    db.session.commit()
    return {"admin": make_user(["admin"]), "treasury": make_user(["treasury"]), "ngo": people["ngo"],
            "auditor": make_user(["auditor"])}


def _audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _assert_refused(response, where: str, failures: list) -> None:
    text = response.get_data(as_text=True)
    if response.status_code >= 500 or "Traceback" in text:
        failures.append((where, response.status_code, text[:200]))
    elif response.status_code < 400:
        failures.append((where, response.status_code, "accepted"))
    elif response.mimetype != "application/problem+json":
        failures.append((where, response.status_code, response.mimetype))


# --- integers -------------------------------------------------------------------------------------

def test_every_api_list_answers_the_largest_page_numbers_without_a_server_error(client, world):
    spec = _spec(client)
    lists = [(path, op) for path, _, op in _operations(spec, "get")
             if any(p["name"] == "page" for p in op.get("parameters", []))]
    assert len(lists) >= 23
    headers = api_headers(client, world["admin"])
    failures = []
    for path, _ in lists:
        for page in (HUGE, str(2**31), str(2**63), "9" * 5000):
            _assert_refused(client.get(f"{_url(path)}?page={page}", headers=headers), f"{path}?page={page}", failures)
        last = client.get(f"{_url(path)}?page=1000000&page_size=200", headers=headers)
        if last.status_code >= 500 or (last.status_code == 200 and last.get_json()["items"] != []):
            failures.append((path, "page 1000000", last.status_code))
    assert failures == []


def test_every_page_of_the_site_answers_huge_integers_without_a_server_error(client, world):
    """Every GET page (ids in its path set to 1) with every integer argument a page reads set past
    any database integer: the page shows (the last page, or no filter), never a 500."""
    rules = [r for r in client.application.url_map.iter_rules()
             if "GET" in r.methods and not r.rule.startswith(("/api/", "/static")) and "<path:" not in r.rule]
    assert len(rules) > 40
    failures = []
    for who in ("admin", "ngo", "auditor", "treasury"):
        login(client, world[who])
        for rule in rules:
            url = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
            query = "&".join(f"{name}={HUGE}" for name in ("page", "year", "version", "agreement_id", "run_id",
                                                          "enrollments_page", "payments_page"))
            response = client.get(f"{url}?{query}")
            if response.status_code >= 500 or "Traceback" in response.get_data(as_text=True):
                failures.append((who, rule.rule, response.status_code))
    assert failures == []


def test_path_ids_past_the_database_integer_are_not_found(client, world):
    headers = api_headers(client, world["admin"])
    for path, _, _ in _operations(_spec(client), "get"):
        if "{" in path and "year" not in path:
            response = client.get(re.sub(r"\{[^}]+\}", HUGE, path), headers=headers)
            assert response.status_code == 404, (path, response.status_code)
            assert response.mimetype == "application/problem+json"


def _send_to_every_body_field(client, headers, kind: str, value_for):
    """POST/PUT/PATCH ``{field: value_for(n)}`` for every writable body field of type ``kind``;
    yields (where, field, response, audited) — ``audited``: the refused request wrote an event."""
    spec = _spec(client)
    n = 0
    for path, method, operation in _operations(spec, "post", "put", "patch"):
        for name, prop in _writable(spec, _json_body_schema(spec, operation) or {}).items():
            if prop.get("type") == kind:
                before = _audit_count()
                response = client.open(_url(path), method=method.upper(), json={name: value_for(n)}, headers=headers)
                n += 1
                yield f"{method} {path}", name, response, _audit_count() != before


def test_every_integer_field_of_every_body_refuses_a_number_past_the_database(client, world):
    headers = api_headers(client, world["admin"])
    tried, failures = 0, []
    for where, name, response, audited in _send_to_every_body_field(client, headers, "integer", lambda n: 10**20):
        tried += 1
        _assert_refused(response, f"{where} {name}", failures)
        if audited:
            failures.append((where, name, "refused but audited a change"))
    assert tried > 20 and failures == []


# --- control characters ---------------------------------------------------------------------------

def test_every_text_field_of_every_body_refuses_control_characters(client, world):
    headers = api_headers(client, world["admin"])
    tried, failures = 0, []
    for where, name, response, audited in _send_to_every_body_field(
            client, headers, "string", lambda n: CONTROLS[n % len(CONTROLS)]):
        tried += 1
        if response.status_code != 422 or response.get_json().get("errors", {}).get(name) is None:
            failures.append((where, name, response.status_code, response.get_data(as_text=True)[:150]))
        if audited:
            failures.append((where, name, "refused but audited a change"))
    assert tried > 100 and failures == []


def test_nested_text_and_keys_with_control_characters_are_refused(client, world):
    headers = api_headers(client, world["admin"])
    for body, field in (({"legal_name": "ONG", "board_members": [{"name": "Ana\x00"}]}, "board_members.0.name"),
                        ({"a\x00": 1}, "_schema")):
        response = client.post("/api/v1/organizations", json=body, headers=headers)
        assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_the_login_with_a_nul_in_the_email_is_refused_without_a_server_error(client, world):
    response = client.post("/api/v1/auth/tokens", json={"email": "a\u0000@b.org", "password": "x"})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "email" in response.get_json()["errors"]
    page = client.post("/login", data={"email": "a\x00@b.org", "password": "x", "csrf_token": csrf_token(client)})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "caracteres de control" in text and "Traceback" not in text


def test_every_query_parameter_and_header_refuses_control_characters(client, world):
    spec = _spec(client)
    headers = api_headers(client, world["admin"])
    failures = []
    for path, _, operation in _operations(spec, "get"):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            response = client.get(f"{_url(path)}?{name}=a%00", headers=headers)
            if response.status_code != 422 or name not in response.get_json().get("errors", {}):
                failures.append((path, name, response.status_code))
    assert failures == []
    for header in ("Idempotency-Key", "Accept-Language", "X-Request-Id"):
        response = client.post("/api/v1/organizations", json={}, headers={**headers, header: "k\x00y"})
        assert response.status_code == 422, header
    response = client.get("/api/v1/organizations", headers={"Authorization": "Bearer abc\x00def"})
    assert response.status_code in (401, 422) and response.mimetype == "application/problem+json"


def test_every_form_of_the_site_refuses_control_characters(client, world):
    """Every POST page, whatever it does, with a control character in a field: refused (422 page
    naming the field), nothing written; a tab or a line break in text is fine."""
    rules = [r for r in client.application.url_map.iter_rules()
             if "POST" in r.methods and not r.rule.startswith("/api/")]
    assert len(rules) > 40
    login(client, world["admin"])
    token = csrf_token(client, "/")
    failures = []
    for rule in rules:
        url = re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule)
        before = _audit_count()
        response = client.post(url, data={"csrf_token": token, "note": "uno\x00dos", "reason": "ok"})
        if response.status_code != 422 or "note" not in response.get_data(as_text=True):
            failures.append((rule.rule, response.status_code))
        if _audit_count() != before:
            failures.append((rule.rule, "refused but audited a change"))
    assert failures == []
    multiline = client.post("/api/v1/organizations", json={"legal_name": "A\tB\nC"},
                            headers=api_headers(client, world["admin"]))
    assert multiline.status_code == 422 and "legal_name" not in multiline.get_json()["errors"]


# --- empty changes and the document ---------------------------------------------------------------

def test_every_patch_without_a_field_is_a_422(client, world):
    spec = _spec(client)
    headers = api_headers(client, world["admin"])
    patches = [path for path, _, _ in _operations(spec, "patch")]
    assert len(patches) >= 5
    for path, _, operation in _operations(spec, "patch"):  # and the document says so
        assert operation["requestBody"]["content"]["application/json"]["schema"]["minProperties"] == 1, path
    for path in patches:
        for kwargs in ({"json": {}}, {}):
            response = client.patch(_url(path), headers=headers, **kwargs)
            assert response.status_code == 422, (path, kwargs, response.status_code)
            assert response.mimetype == "application/problem+json"


def test_every_integer_a_client_sends_is_bounded_in_the_document(client):
    spec = _spec(client)
    unbounded = []
    for path, method, operation in _operations(spec, "get", "post", "put", "patch", "delete"):
        parameters = operation.get("parameters", []) + spec["paths"][path].get("parameters", [])
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") == "integer" and not (schema.get("maximum", INT_MAX + 1) <= INT_MAX):
                unbounded.append((method, path, parameter["name"]))
        seen: list[dict] = []

        def walk(schema, where):
            schema = _resolve(spec, schema)
            if any(schema is s for s in seen):
                return
            seen.append(schema)
            if schema.get("type") == "integer" and not schema.get("readOnly") \
                    and not (schema.get("maximum", INT_MAX + 1) <= INT_MAX):
                unbounded.append((method, path, where))
            for name, prop in schema.get("properties", {}).items():
                if not prop.get("readOnly"):
                    walk(prop, f"{where}.{name}")
            if "items" in schema:
                walk(schema["items"], f"{where}[]")

        body = _json_body_schema(spec, operation)
        if body:
            walk(body, "body")
    assert unbounded == []


def test_every_error_response_in_the_document_is_problem_json(client):
    spec = _spec(client)
    wrong = []
    responses = dict(spec["components"]["responses"])
    for path, method, operation in _operations(spec, "get", "post", "put", "patch", "delete"):
        for status, response in operation["responses"].items():
            if status == "default" or status.startswith(("4", "5")):
                if "$ref" in response:
                    response = responses[response["$ref"].rsplit("/", 1)[1]]
                if list(response.get("content", {})) != ["application/problem+json"]:
                    wrong.append((method, path, status))
                elif response["content"]["application/problem+json"]["schema"] != {"$ref": "#/components/schemas/Problem"}:
                    wrong.append((method, path, status, "schema"))
        assert "default" in operation["responses"], (method, path)
    assert wrong == []
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code"}


def test_the_api_docs_page_has_a_content_security_policy_that_lets_it_run(client):
    response = client.get("/api/docs")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    import base64
    import hashlib

    html = response.get_data(as_text=True)
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert inline, "the docs page initializes Swagger UI with an inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000,
                                  "[" * 40 + "]" * 40])
def test_deeply_nested_json_is_refused_not_a_server_error(client, world, body):
    headers = {**api_headers(client, world["admin"]), "Content-Type": "application/json"}
    response = client.post("/api/v1/organizations", data=body, headers=headers)
    assert response.status_code in (400, 422) and response.mimetype == "application/problem+json"
