"""Below the HTTP edge: a key is compared in constant time, and a hung database fails a request in bounded time."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from allot.services import keys
from allot.store.db import Database


def test_a_key_is_compared_in_constant_time(db: Database, now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[Any, Any]] = []
    real = keys.hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    with db.write() as conn:
        made = keys.create(conn, "shop", "ops", None, now)
    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    with db.read() as conn:
        assert keys.authenticate(conn, made["secret"]) is not None
        assert keys.authenticate(conn, made["secret"] + "x") is None
    digest = keys.digest(made["secret"])
    assert compared == [(digest, digest)]  # the unknown key found no row: nothing of it was compared


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A local port that accepts connections and never says a word (a hung database)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_database_that_never_answers_fails_the_request_after_the_connect_timeout(silent_port: int) -> None:
    db = Database(f"postgresql://postgres@127.0.0.1:{silent_port}/allot", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(OperationalError), db.read():
        pass
    db.dispose()
    assert time.monotonic() - started < 10
