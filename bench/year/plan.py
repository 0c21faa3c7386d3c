"""How a year is laid out: volumes per scale, agreement states, and which agreement holds which anomaly."""
from __future__ import annotations

import random
from collections import defaultdict

from year.constants import FULL, MIN_AGREEMENTS, PLANTED, TIMELINE_RULES


def targets(scale: float) -> dict:
    out = {key: max(1, round(value * scale)) for key, value in FULL.items()}
    out["agreements"] = max(MIN_AGREEMENTS, out["agreements"])
    return out


def split(total: int, weights: list[float]) -> list[int]:
    """``total`` in parts proportional to ``weights`` (largest remainder; exact sum)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


def assign_plants(rng: random.Random, states: list[str], timeline_rng: random.Random) -> dict[int, dict[str, int]]:
    """{agreement index: {rule: n}}; each rule's anomalies in different agreements in execution.

    The timeline rules (``TIMELINE_RULES``) are drawn with ``timeline_rng``, after the others, so the
    first fourteen rules' plants (and every draw of ``rng`` after them) are where they were before
    those rules existed. A ``deposit_unconfirmed`` plant needs its second advance still running (its
    statement due later), so it avoids the agreements whose second advance is planted overdue."""
    executing = [i for i, s in enumerate(states) if s == "in_execution"]
    plants: dict[int, dict[str, int]] = defaultdict(dict)
    avoid = {"deposit_unconfirmed": "advance_overdue"}
    for rule, n in PLANTED.items():
        if n == 0:
            continue
        pool = [i for i in executing if i >= 2] if rule == "double_active_enrollment" else executing
        draw = rng
        if rule in TIMELINE_RULES:
            pool, draw = [i for i in pool if avoid.get(rule) not in plants.get(i, {})], timeline_rng
        for k, i in enumerate(draw.sample(pool, n)):
            plants[i][rule] = k + 1   # which one (supplier_conflict: the kind; money_after_suspension: 3 = advance)
    return plants


def agreement_states(rng: random.Random, n: int) -> list[str]:
    states = ["in_execution"] * n
    picks = rng.sample(range(n), max(3, round(n * 0.11)))
    closing, liquidated = max(1, round(n * 0.05)), max(1, round(n * 0.05))
    for k, i in enumerate(picks):
        states[i] = "closing" if k < closing else "liquidated" if k < closing + liquidated else "suspended"
    return states
