"""How a year is laid out: volumes per scale, agreement states, and which agreement holds which anomaly."""
from __future__ import annotations

import random
from collections import defaultdict

from year.constants import FULL, MIN_AGREEMENTS, PLANTED


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


def assign_plants(rng: random.Random, states: list[str]) -> dict[int, dict[str, int]]:
    """{agreement index: {rule: n}}; each rule's anomalies in different agreements in execution."""
    executing = [i for i, s in enumerate(states) if s == "in_execution"]
    plants: dict[int, dict[str, int]] = defaultdict(dict)
    for rule, n in PLANTED.items():
        if n == 0:
            continue
        pool = [i for i in executing if i >= 2] if rule == "double_active_enrollment" else executing
        for k, i in enumerate(rng.sample(pool, n)):
            plants[i][rule] = k + 1   # which one (supplier_conflict: the kind; money_after_suspension: 3 = advance)
    return plants


def agreement_states(rng: random.Random, n: int) -> list[str]:
    states = ["in_execution"] * n
    picks = rng.sample(range(n), max(3, round(n * 0.11)))
    closing, liquidated = max(1, round(n * 0.05)), max(1, round(n * 0.05))
    for k, i in enumerate(picks):
        states[i] = "closing" if k < closing else "liquidated" if k < closing + liquidated else "suspended"
    return states
