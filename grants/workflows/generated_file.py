"""A file built in the background (a list's error workbook, a draft report): pending → ready | failed,
and ready or failed → expired when its content is removed after the keeping period.

A pending file that looks lost (its build never finished) is not moved: the next ask makes a new one.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class FileState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class FileAction(StrEnum):
    FINISH = "finish"
    FAIL = "fail"
    EXPIRE = "expire"


S, A = FileState, FileAction

TRANSITIONS: dict[tuple[FileState, FileAction], FileState] = {
    (S.PENDING, A.FINISH): S.READY,
    (S.PENDING, A.FAIL): S.FAILED,
    (S.READY, A.EXPIRE): S.EXPIRED,
    (S.FAILED, A.EXPIRE): S.EXPIRED,
}
# A file that may still be served (ready) or is being built (pending).
LIVE_STATES = frozenset({S.PENDING, S.READY})

LIFECYCLE = Lifecycle("generated_file", FileState, FileAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
allowed_actions = LIFECYCLE.allowed_actions
