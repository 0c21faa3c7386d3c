"""The house's floors (README, "How it is built"; DESIGN.md §4): every import inside ``grants`` points
down. Read from the source (every ``import`` statement, those inside functions included), so an
arrow that runs back up fails here before it can make a cycle at run time.

Floors, bottom first:
* the **kernel** — ``grants.clock``, ``grants.domain_errors`` (refusals), ``grants.money`` (ZERO,
  CENT, parsing), ``grants.formats`` (amounts, quantities and dates for people), ``grants.labels``,
  ``grants.permissions``: imports nothing of the package but the kernel;
* **workflows** — pure transition tables: nothing of the package but labels (and each other);
* **models** — the kernel, workflows and the extensions, nothing above;
* **validation** — never services, the faces or the jobs;
* **reports** — plain data in, bytes out: never models, services, audit, the faces;
* **audit** and ``grants.security`` — never services or the faces;
* ``grants.background.parallel`` — a function run beside the caller in a thread: nothing of ours;
* **services** — never the faces (api, web), the CLI, the demo or the job queue's tasks;
* ``grants.background.tasks`` (the job queue's tasks, above the services) — never the faces;
* the two **faces**, ``grants.api`` and ``grants.web``, never import each other.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "grants"

KERNEL = ("grants.clock", "grants.domain_errors", "grants.money", "grants.formats", "grants.labels", "grants.permissions")
FACES = ("grants.api", "grants.web")

# floor (a module or package prefix) -> what it must not import (prefixes), or ("only", allowed prefixes)
RULES: dict[str, tuple] = {
    **{module: ("only", KERNEL) for module in KERNEL},
    "grants.workflows": ("only", ("grants.workflows", "grants.labels")),
    "grants.models": ("only", ("grants.models", "grants.workflows", "grants.extensions", *KERNEL)),
    "grants.validation": ("never", ("grants.services", "grants.jobs", "grants.cli", *FACES)),
    "grants.reports": ("never", ("grants.models", "grants.services", "grants.audit", "grants.jobs", *FACES)),
    "grants.audit": ("never", ("grants.services", "grants.jobs", *FACES)),
    "grants.security": ("never", ("grants.services", "grants.jobs", *FACES)),
    "grants.services": ("never", ("grants.cli", "grants.demo", "grants.background.tasks", *FACES)),
    "grants.background.parallel": ("only", ()),
    "grants.background.tasks": ("never", ("grants.cli", "grants.demo", *FACES)),
    "grants.api": ("never", ("grants.web",)),
    "grants.web": ("never", ("grants.api",)),
}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of the package in one file; ``from grants.x import y`` gives
    ``grants.x.y`` too (y may be a module), relative imports resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return [(line, target) for line, target in found if _within(target, "grants")]


def arrows_up() -> list[str]:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        floor = max((prefix for prefix in RULES if _within(source, prefix)), key=len, default=None)
        if floor is None:
            continue
        kind, targets = RULES[floor]
        for line, target in imports_of(path):
            if _within(target, floor):
                continue
            if kind == "only":
                # "from grants import clock" names the package itself: judged by what it imports
                bad = target != "grants" and not any(_within(target, allowed) for allowed in targets)
            else:
                bad = any(_within(target, banned) for banned in targets)
            if bad:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} {source} -> {target}")
    return sorted(set(wrong))


def test_every_import_points_down():
    assert arrows_up() == []


def test_the_contract_sees_an_arrow_up(tmp_path, monkeypatch):
    """The check itself: a model importing a service, a face importing the other, the kernel
    importing a model are each reported (a contract that cannot fail proves nothing)."""
    fake = tmp_path / "grants"
    for relative, text in {
        "models/thing.py": "from grants.services.ledger import balances\n",
        "web/page.py": "def f():\n    from grants.api import suppliers\n",
        "money.py": "from .models import Agreement\n",
        "validation/rows.py": "from grants.domain_errors import Conflict\n",  # fine: the kernel
        # the arrows issue 13 found, each planted again
        "validation/plan.py": "from grants.services.money import ZERO\n",
        "security.py": "from grants.services import errors\n",
        "api/auth.py": "from grants.web.throttle import check\n",
        "services/work.py": "from grants.background.parallel import beside\nfrom grants.background import tasks\n",
    }.items():
        (fake / relative).parent.mkdir(parents=True, exist_ok=True)
        (fake / relative).write_text(text)
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    assert arrows_up() == [
        "grants/api/auth.py:1 grants.api.auth -> grants.web.throttle",
        "grants/api/auth.py:1 grants.api.auth -> grants.web.throttle.check",
        "grants/models/thing.py:1 grants.models.thing -> grants.services.ledger",
        "grants/models/thing.py:1 grants.models.thing -> grants.services.ledger.balances",
        "grants/money.py:1 grants.money -> grants.models",
        "grants/money.py:1 grants.money -> grants.models.Agreement",
        "grants/security.py:1 grants.security -> grants.services",
        "grants/security.py:1 grants.security -> grants.services.errors",
        "grants/services/work.py:2 grants.services.work -> grants.background.tasks",
        "grants/validation/plan.py:1 grants.validation.plan -> grants.services.money",
        "grants/validation/plan.py:1 grants.validation.plan -> grants.services.money.ZERO",
        "grants/web/page.py:2 grants.web.page -> grants.api",
        "grants/web/page.py:2 grants.web.page -> grants.api.suppliers",
    ]
