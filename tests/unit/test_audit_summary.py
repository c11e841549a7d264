"""What an audit row says changed: the request as understood and the answer's identity, no secrets."""
from __future__ import annotations

from allot.services import audit


def test_a_summary_never_carries_a_secret() -> None:
    made = {"id": 3, "name": "shop", "role": "storefront", "channels": ["web"], "secret": "allot_s3cr3t"}
    summary = audit.summarise({}, {"name": "shop", "secret_hash": "abc"}, made)
    assert "allot_s3cr3t" not in str(summary) and "abc" not in str(summary)
    assert summary["result"] == {"id": 3, "name": "shop", "role": "storefront"}


def test_a_summary_keeps_each_lines_numbers_but_not_its_allocation() -> None:
    order = {"ref": "W-1", "channel": "web", "created_at": "2026-11-23T12:00:00Z", "lines": [
        {"line": 1, "sku": "TEE", "qty": 2, "qty_shipped": 1, "state": "ready", "allocation": [{"qty": 1}]}]}
    summary = audit.summarise({"ref": "W-1"}, {"lines": [{"line": 1, "qty": 1}]}, order)
    assert summary["params"] == {"ref": "W-1"}
    assert summary["result"]["lines"] == [{"line": 1, "sku": "TEE", "qty": 2, "qty_shipped": 1, "state": "ready"}]
    assert summary["result"]["ref"] == "W-1"
