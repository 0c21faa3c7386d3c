"""Lifecycles as pure transition tables: state enum, actions, ``next_state``; no I/O."""
from __future__ import annotations


class TransitionRefused(Exception):
    """An action that the lifecycle does not allow from the current state."""

    def __init__(self, entity: str, state, action):
        super().__init__(f"{entity}: '{action}' is not allowed from '{state}'")
        self.entity = entity
        self.state = state
        self.action = action
