"""El Salvador's territory after D.L. 762 (2024): 14 departments, 44 municipalities."""
from __future__ import annotations

import json
import unicodedata
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "sv_territory.json"


def fold(text: str) -> str:
    """Case- and accent-insensitive form for matching names people typed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


@cache
def territory() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


@cache
def municipalities() -> dict[str, dict]:
    """code → {code, name, department_code, department_name}."""
    result = {}
    for dept in territory()["departments"]:
        for muni in dept["municipalities"]:
            result[muni["code"]] = {
                "code": muni["code"],
                "name": muni["name"],
                "department_code": dept["code"],
                "department_name": dept["name"],
            }
    return result


def municipality_label(code: str) -> str:
    muni = municipalities().get(code)
    return f"{muni['name']}, {muni['department_name']}" if muni else code


def find_municipality(value: str) -> dict | None:
    """By code (``0614``) or by name in any case, with or without accents."""
    value = (value or "").strip()
    if value in municipalities():
        return municipalities()[value]
    wanted = fold(value)
    for muni in municipalities().values():
        if fold(muni["name"]) == wanted:
            return muni
    return None
