"""Locations and transfers over real HTTP (BRIEF §9): the routes, their answers and their refusals."""
from __future__ import annotations

import httpx

from tests.e2e.world import availability, channel, day, ok, problem, sku, unique


def test_locations_transfers_and_a_channel_that_ships_from_one_location(api: httpx.Client) -> None:
    place = unique("L")
    made = ok(api.put(f"/v1/locations/{place}", json={"name": "A 3PL", "handling_days": 2}), 201)
    assert made == {"location": place, "name": "A 3PL", "handling_days": 2}
    assert next(loc["location"] for loc in ok(api.get("/v1/locations"), 200)) == "main"
    name = sku(api, on_hand=12, handling_days=1)
    market = unique("mkt")
    ok(api.put(f"/v1/channels/{market}", json={"allow_backorder": True, "allow_preorder": False,
                                               "locations": [place], "split": "avoid"}), 201)
    ref = unique("T")
    body = {"ref": ref, "from": "main", "to": place, "expected_date": day(5), "lines": [{"sku": name, "qty": 8}]}
    sent = ok(api.post("/v1/transfers", json=body), 201)
    assert (sent["from"], sent["to"], sent["status"], sent["lines"][0]["remaining"]) == ("main", place, "open", 8)

    seen = availability(api, name, market)
    assert seen["available"] == 8
    assert {loc["location"]: loc["incoming"] for loc in seen["locations"]}[place] == 8
    held = ok(api.post("/v1/holds", json={"sku": name, "qty": 8, "channel": market}), 201)
    assert held["promise_date"] == day(5 + 1 + 2)

    ok(api.post(f"/v1/transfers/{ref}/receipts", json={}), 201)
    assert ok(api.get(f"/v1/transfers/{ref}"), 200)["status"] == "closed"


def test_bad_input_is_refused_naming_the_field(api: httpx.Client) -> None:
    name = sku(api, on_hand=3)
    web = channel(api)
    problem(api.post("/v1/stock/adjustments", json={"sku": name, "delta": 1, "reason": "x", "location": "nowhere"}),
            422, "invalid", "location")
    transfer = {"ref": unique("T"), "from": "main", "to": "main", "expected_date": day(1),
                "lines": [{"sku": name, "qty": 1}]}
    problem(api.post("/v1/transfers", json=transfer), 422, "invalid", "to")
    place = unique("L")
    ok(api.put(f"/v1/locations/{place}", json={}), 201)
    ok(api.put(f"/v1/locations/{place}", json={"name": "again"}), 200)
    problem(api.post("/v1/transfers", json={**transfer, "to": place, "lines": [{"sku": name, "qty": 4}]}),
            409, "insufficient_stock")
    problem(api.put(f"/v1/channels/{web}", json={"allow_backorder": True, "allow_preorder": True,
                                                 "locations": ["nowhere"]}), 422, "invalid", "locations.0")
    ok(api.post("/v1/stock/adjustments", json={"sku": name, "delta": 2, "reason": "in", "location": place}), 201)
    problem(api.delete(f"/v1/locations/{place}"), 409, "conflict")
    problem(api.delete("/v1/locations/main"), 409, "conflict")
    assert availability(api, name)["on_hand"] == 5
