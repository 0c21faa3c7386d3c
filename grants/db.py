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


def side_engine():
    """An engine for short statements that run beside a request's own transaction (a token's last
    use, failed-login counters, an import's progress, a streamed download): same database, but no
    pool shared with the requests. A request that holds its pooled connection and then needs a
    side one must never wait for the pool — with as many such requests as pooled connections, each
    would wait for another's (the pool's timeout, then a 500). Unpooled (``NullPool``): a side
    connection is opened, used for one short transaction and closed."""
    from flask import current_app
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = current_app.extensions.get("fondos.side_engine")
    if engine is None:
        engine = create_engine(db.engine.url, poolclass=NullPool)
        current_app.extensions["fondos.side_engine"] = engine
    return engine


@contextmanager
def own_transaction():
    """A short transaction of its own, committed at once whatever the request does afterwards:
    bookkeeping that must outlive a refused request (failed-login counters) and must never wait
    on a request's long transaction.

    PostgreSQL: a side connection (``side_engine``), one transaction, committed on leaving the block.
    SQLite is one writer and every request's transaction holds that one write lock from its first
    statement (``BEGIN IMMEDIATE``): a second connection would wait on its own request. There the
    request's session must not have written anything yet; its (read-only) transaction is ended and
    the block runs in a transaction of its own on the same connection, committed at once.
    """
    if db.engine.dialect.name != "sqlite":
        with side_engine().connect() as conn:
            with conn.begin():
                yield conn
        return
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("own_transaction() on SQLite runs before the request writes anything")
    session.commit()
    try:
        yield session.connection()
        session.commit()
    except BaseException:
        session.rollback()
        raise
