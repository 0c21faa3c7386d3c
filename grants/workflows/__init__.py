"""Lifecycles as pure transition tables: state enum, actions, ``next_state``; no I/O."""
from __future__ import annotations


class TransitionRefused(Exception):
    """An action that the lifecycle does not allow from the current state."""

    def __init__(self, entity: str, state, action):
        super().__init__(f"{entity}: '{action}' is not allowed from '{state}'")
        self.entity = entity
        self.state = state
        self.action = action


class Lifecycle:
    """A transition table ``{(state, action): next_state}`` and the questions asked of it."""

    def __init__(self, entity: str, states, actions, transitions: dict):
        self.entity, self.states, self.actions, self.transitions = entity, states, actions, transitions

    def next_state(self, state, action):
        try:
            return self.transitions[(self.states(state), self.actions(action))]
        except (KeyError, ValueError):
            raise TransitionRefused(self.entity, state, action) from None

    def allowed_actions(self, state) -> list:
        return [a for (s, a) in self.transitions if s == self.states(state)]
