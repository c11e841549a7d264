"""docs/events.md documents exactly the event types the catalogue versions, and filters match them."""
from __future__ import annotations

import re
from pathlib import Path

from allot.domain.events import VERSIONS, is_known_filter, matches

DOC = Path(__file__).parents[2] / "docs" / "events.md"


def test_every_event_type_is_documented_with_its_version_and_nothing_else_is() -> None:
    documented = dict(re.findall(r"^### `([a-z_]+\.[a-z_]+)` \(v(\d+)\)", DOC.read_text(), re.MULTILINE))

    assert {t: int(v) for t, v in documented.items()} == VERSIONS


def test_a_webhook_may_subscribe_to_a_type_or_a_family() -> None:
    assert is_known_filter("order_line.promise_changed") and is_known_filter("order_line.*")
    assert not is_known_filter("order_line.exploded") and not is_known_filter("invoice.*")
    assert matches(["order_line.*"], "order_line.ready") and not matches(["order_line.*"], "hold.expired")
    assert matches(None, "hold.expired") and matches(["hold.expired"], "hold.expired")
