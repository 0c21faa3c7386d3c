"""Every lifecycle is typed end to end (issue 13 §4): the model's column holds the workflow's Enum
(``Mapped[PaymentState]``), the database lists the same states in a CHECK, and the code never
compares or writes a state as a bare string."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from enum import StrEnum
from pathlib import Path

import pytest
from sqlalchemy.exc import StatementError

import grants.workflows
from grants.extensions import db
from grants.models import Agreement
from grants.models.base import Base, State
from grants.workflows.agreement import AgreementState
from tests.factories import make_agreement_in_execution

PACKAGE = Path(grants.workflows.__file__).resolve().parent.parent


def lifecycle_state_enums() -> set[type]:
    found = set()
    for info in pkgutil.iter_modules(grants.workflows.__path__):
        module = importlib.import_module(f"grants.workflows.{info.name}")
        found |= {obj for name, obj in inspect.getmembers(module, inspect.isclass)
                  if issubclass(obj, StrEnum) and name.endswith("State") and obj.__module__ == module.__name__}
    return found


def state_columns():
    return [(table, column) for table in Base.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, State)]


def check_lists(table) -> dict[str, set[str]]:
    """{column: the states its ``<column>_known`` CHECK allows}"""
    out = {}
    for constraint in table.constraints:
        m = re.fullmatch(r"(\w+) IN \((.*)\)", str(getattr(constraint, "sqltext", "")))
        if m and str(constraint.name).endswith(f"{m.group(1)}_known"):
            out[m.group(1)] = set(re.findall(r"'([^']*)'", m.group(2)))
    return out


def test_every_lifecycle_state_is_stored_typed():
    stored = {column.type.enum for _, column in state_columns()}
    assert lifecycle_state_enums() - stored == set()


def test_templates_know_every_lifecycle():
    from grants.workflows.states import STATE_ENUMS

    assert lifecycle_state_enums() <= set(STATE_ENUMS)


def test_every_status_column_is_typed_by_a_lifecycle():
    untyped = [f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables for column in table.columns
               if column.name in ("status", "measure_status", "from_status", "to_status")
               and not isinstance(column.type, State)]
    assert untyped == []


@pytest.mark.parametrize("table, column", state_columns(), ids=lambda x: getattr(x, "name", None))
def test_the_database_lists_the_lifecycles_states(table, column):
    checks = check_lists(table)
    assert checks.get(column.name) == {s.value for s in column.type.enum}


def test_a_loaded_state_is_the_lifecycle_member(app):
    agreement_id = make_agreement_in_execution()["agreement"].id
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement_id)
    assert type(agreement.status) is AgreementState and agreement.status is AgreementState.IN_EXECUTION


def test_a_state_the_lifecycle_does_not_know_is_refused_before_the_database(app):
    agreement = make_agreement_in_execution()["agreement"]
    agreement.status = "in_executon"
    with pytest.raises(StatementError) as raised:
        db.session.flush()
    assert isinstance(raised.value.orig, ValueError)
    db.session.rollback()


# --- the code: no state as a bare string ------------------------------------------------------------

STATE_WORDS = {s.value for enum in lifecycle_state_enums() for s in enum}


def _is_state_subject(node) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name in ("status", "measure_status", "from_status", "to_status")


def bare_states(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        literals, subject = [], False
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            subject = any(_is_state_subject(s) for s in sides)
            literals = [c for s in sides for c in ast.walk(s) if isinstance(c, ast.Constant)]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            subject = any(_is_state_subject(t) for t in targets)
            literals = [node.value] if isinstance(node.value, ast.Constant) else []
            if any(isinstance(t, ast.Name) and t.id.endswith("STATES") for t in targets):   # X_STATES = ("a", "b")
                subject, literals = True, [c for c in ast.walk(node.value) if isinstance(c, ast.Constant)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in"):
            subject = _is_state_subject(node.func.value)   # Payment.status.in_(("prepared", …))
            literals = [c for arg in node.args for c in ast.walk(arg) if isinstance(c, ast.Constant)]
        elif isinstance(node, ast.keyword):
            subject = node.arg in ("status", "measure_status")
            literals = [node.value] if isinstance(node.value, ast.Constant) else []
        if subject:
            found += [f"{path.relative_to(root)}:{c.lineno} {c.value!r}" for c in literals
                      if c.value in STATE_WORDS]
    return found


def test_no_state_is_compared_or_written_as_a_bare_string():
    offending = [hit for path in sorted(PACKAGE.rglob("*.py")) if "workflows" not in path.parts
                 for hit in bare_states(path)]
    assert offending == []


TEMPLATE_STATE = re.compile(r"(status|measure_status|kind) (==|!=|in|not in) [(\\[]?['\"]")


def test_no_template_compares_a_state_with_a_bare_string():
    templates = PACKAGE / "web" / "templates"
    offending = [f"{path.relative_to(templates)}:{n}" for path in sorted(templates.rglob("*.html"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if TEMPLATE_STATE.search(line)]
    assert offending == []
    assert TEMPLATE_STATE.search("{% if plan.status == 'draft' %}")   # the check sees one


def test_the_check_above_sees_a_bare_state(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def f(p):\n    if p.status == 'executed':\n        p.status = 'cancelled'\n"
                       "    return Payment(status='prepared')\nOPEN_STATES = ('signed', 'in_execution')\n"
                       "q = select(Payment).where(Payment.status.in_(('authorized',)))\n")
    assert sorted(bare_states(planted, tmp_path)) == ["planted.py:2 'executed'", "planted.py:3 'cancelled'",
                                              "planted.py:4 'prepared'", "planted.py:5 'in_execution'",
                                              "planted.py:5 'signed'", "planted.py:6 'authorized'"]
