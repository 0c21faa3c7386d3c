"""Engine behaviour per backend, and the unit of work.

SQLite ignores ``FOR UPDATE``: every transaction starts with ``BEGIN IMMEDIATE`` so SQLite is
one writer at a time, with foreign keys on and a busy timeout instead of "database is locked".
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from grants.extensions import db

_installed = False


def install_engine_events() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):
        if isinstance(dbapi_conn, sqlite3.Connection):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _sqlite_begin(conn):
        if conn.dialect.name == "sqlite":
            # a connection that only reads (streamed downloads: execution option read_only) takes no
            # write lock: in WAL mode it never makes a writer wait
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")


@contextmanager
def unit_of_work():
    """Commit once at the end, or roll back everything (CLI commands, scripts)."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
