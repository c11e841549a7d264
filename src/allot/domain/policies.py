"""Allocation policies other than first come, first served. Pure: no clock, no I/O.

`fair_share` (a SKU setting, for wholesale lines of many units): when supply runs short, the
buckets the short lines of the first priority class that cannot be covered in full may use (the
contested buckets) are shared among that class's competing lines in proportion to their open
quantity — whole units, the remainder one unit at a time in queue order. Units a line was already
shipped count toward its share (each line gets about the same fraction of its order), so shipping
one customer their share leaves everyone else's alone. The competing lines
are that class's short lines and the lines first come, first served would have fed from a
contested bucket. Higher classes keep their FIFO placements; everything else is FIFO.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from allot.domain.model import Demand, Placement, Supply


@dataclass(frozen=True, slots=True)
class Shares:
    """A shortage to share: the class it hits, the buckets its short lines may use, and each
    competing line's share of those buckets."""

    priority: int
    contested: frozenset[str]
    targets: dict[str, int]


def fair_shares(supply: Supply, ordered: Sequence[Demand], fifo: Mapping[str, Placement],
                today: date) -> Shares | None:
    """How a shortage found by the FIFO placements is to be shared; None when nobody is short."""
    short = [d for d in ordered if fifo[d.key].covered < d.qty]
    if not short:
        return None
    priority = short[0].priority
    contested = frozenset(b.key for d in short if d.priority == priority
                          for b in supply.ordered_for(supply.channel(d.channel))
                          if supply.sku.may_use(supply.channel(d.channel), b.source, today))
    group = [d for d in ordered if d.priority == priority
             and (fifo[d.key].covered < d.qty or any(t.bucket in contested for t in fifo[d.key].takes))]
    units = sum(t.qty for d in group for t in fifo[d.key].takes if t.bucket in contested)
    return Shares(priority, contested, _owed(units, group))


def _owed(units: int, group: Sequence[Demand]) -> dict[str, int]:
    """Each line's share of `units`, counting what it was already shipped as part of its share: so
    shipping one customer their share never shrinks anyone else's."""
    pool = units + sum(d.shipped for d in group)
    totals = proportional(pool, [(d.key, d.qty + d.shipped) for d in group])
    owed = [(d.key, max(0, totals[d.key] - d.shipped)) for d in group]
    if sum(n for _, n in owed) > units:  # a line shipped more than its share before the shortage
        return proportional(units, owed)
    return dict(owed)


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
