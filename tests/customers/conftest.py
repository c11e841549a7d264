from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mail import SmtpSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()
