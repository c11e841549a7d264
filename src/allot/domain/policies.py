"""Allocation policies other than first come, first served. Pure: no clock, no I/O.

`fair_share` (a SKU setting, for wholesale lines of many units): when supply runs short, the units
first come, first served would give the first priority class that cannot be covered in full are
split among that class's competing lines in proportion to their open quantity — whole units,
the remainder one unit at a time in queue order. Only lines of that class that are short, or
that take from a bucket a short one may use, compete; everyone else is placed as under FIFO.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from allot.domain.model import Demand, Placement, Supply


def fair_shares(supply: Supply, ordered: Sequence[Demand], fifo: Mapping[str, Placement],
                today: date) -> dict[str, int]:
    """Units each competing line should get, given the FIFO placements; {} when nobody is short."""
    short = [d for d in ordered if fifo[d.key].covered < d.qty]
    if not short:
        return {}
    priority = short[0].priority
    contested = {b.key for d in short if d.priority == priority for b in supply.buckets
                 if supply.sku.may_use(supply.channel(d.channel), b.source, today)}
    group = [d for d in ordered if d.priority == priority
             and (fifo[d.key].covered < d.qty or any(t.bucket in contested for t in fifo[d.key].takes))]
    return proportional(sum(fifo[d.key].covered for d in group), [(d.key, d.qty) for d in group])


def proportional(units: int, lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Split `units` (at most the total asked) in proportion to each line's quantity, in whole units;
    what rounding down leaves over goes one unit each to the earliest lines."""
    asked = sum(qty for _, qty in lines)
    shares = {key: units * qty // asked if asked else 0 for key, qty in lines}
    left = units - sum(shares.values())
    for key, qty in lines:
        if left <= 0:
            break
        if shares[key] < qty:
            shares[key] += 1
            left -= 1
    return shares
