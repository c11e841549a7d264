"""Retry timing: exponential back-off with jitter, capped."""
from __future__ import annotations

from allot.workers.relay import RelayOptions, retry_delay

OPTIONS = RelayOptions(backoff=10.0, backoff_max=3600.0)


def test_each_retry_waits_about_twice_as_long_as_the_one_before() -> None:
    assert [retry_delay(n, OPTIONS, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [10.0, 20.0, 40.0, 80.0]


def test_jitter_waits_between_half_and_all_of_the_back_off() -> None:
    assert retry_delay(3, OPTIONS, rand=lambda: 0.0) == 20.0
    assert retry_delay(3, OPTIONS, rand=lambda: 0.5) == 30.0


def test_the_wait_never_exceeds_the_cap() -> None:
    assert retry_delay(40, OPTIONS, rand=lambda: 1.0) == 3600.0
