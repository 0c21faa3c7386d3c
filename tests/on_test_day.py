"""Run Python in a child process on the suite's test day (``FONDOS_TEST_TODAY``, set by conftest).

A test that starts another process (a crash test, a CLI run) runs it as
``python -m tests.on_test_day -c CODE`` or ``python -m tests.on_test_day -m flask …``, so the child's
clock is the suite's, not the real date's.
"""
from __future__ import annotations

import os
import runpy
import sys
from datetime import date, datetime, time

import time_machine

from grants.clock import EL_SALVADOR


def main(argv: list[str]) -> None:
    day = date.fromisoformat(os.environ["FONDOS_TEST_TODAY"])
    with time_machine.travel(datetime.combine(day, time(10), EL_SALVADOR), tick=True):
        if argv[:1] == ["-c"]:
            sys.argv = ["-c", *argv[2:]]
            exec(compile(argv[1], "<on_test_day>", "exec"), {"__name__": "__main__"})
        elif argv[:1] == ["-m"]:
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        else:
            raise SystemExit("usage: python -m tests.on_test_day (-c CODE | -m MODULE) [ARGS…]")


if __name__ == "__main__":
    main(sys.argv[1:])
