"""The year's report to the Legislative Assembly: generated → sent.

Generated drafts may be many; sending generates the files as they stand and marks that report
sent, once a year (a partial unique index backs it). A sent report is final.
"""
from __future__ import annotations

from enum import StrEnum

from grants.workflows import Lifecycle


class ReportState(StrEnum):
    GENERATED = "generated"
    SENT = "sent"


class ReportAction(StrEnum):
    SEND = "send"


TRANSITIONS = {(ReportState.GENERATED, ReportAction.SEND): ReportState.SENT}
LIFECYCLE = Lifecycle("legislature_report", ReportState, ReportAction, TRANSITIONS)
next_state = LIFECYCLE.next_state
