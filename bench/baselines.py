"""The database's own limit: a conditional one-row UPDATE + INSERT per transaction, from Python
threads with the same drivers Allot uses (psycopg 3; sqlite3 in WAL with synchronous=FULL)."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

STOCK = 100_000_000


def _hammer(clients: int, seconds: float, connect: Any, one: Any) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        conn = connect()
        while time.monotonic() < stop:
            one(conn)
            done[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - start)


def raw_postgres(url: str, clients: int, seconds: float) -> dict[str, Any]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_stock, raw_holds")
        conn.execute("CREATE TABLE raw_stock (id int PRIMARY KEY, qty int NOT NULL)")
        conn.execute("CREATE TABLE raw_holds (id bigserial PRIMARY KEY, stock_id int, at timestamptz)")
        conn.execute("INSERT INTO raw_stock VALUES (1, %s)", (STOCK,))

    def one(c: psycopg.Connection) -> None:
        with c.transaction():
            if c.execute("UPDATE raw_stock SET qty = qty - 1 WHERE id = 1 AND qty > 0").rowcount:
                c.execute("INSERT INTO raw_holds (stock_id, at) VALUES (1, now())")

    tps = _hammer(clients, seconds, lambda: psycopg.connect(url, autocommit=True), one)
    return {"bench": "raw UPDATE+INSERT", "db": "postgres", "clients": clients, "tps": tps}


def raw_sqlite(path: Path, clients: int, seconds: float) -> dict[str, Any]:
    def connect() -> sqlite3.Connection:
        c = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")
        return c

    setup = connect()
    setup.execute("CREATE TABLE raw_stock (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL)")
    setup.execute("CREATE TABLE raw_holds (id INTEGER PRIMARY KEY, stock_id INTEGER, at TEXT)")
    setup.execute("INSERT INTO raw_stock VALUES (1, ?)", (STOCK,))
    setup.close()
    lock = threading.Lock()  # as Allot does: writers queue in-process instead of busy-polling

    def one(c: sqlite3.Connection) -> None:
        with lock:
            c.execute("BEGIN IMMEDIATE")
            if c.execute("UPDATE raw_stock SET qty = qty - 1 WHERE id = 1 AND qty > 0").rowcount:
                c.execute("INSERT INTO raw_holds (stock_id, at) VALUES (1, datetime('now'))")
            c.execute("COMMIT")

    tps = _hammer(clients, seconds, connect, one)
    return {"bench": "raw UPDATE+INSERT", "db": "sqlite", "clients": clients, "tps": tps}
