"""Supply changes previewed over HTTP (BRIEF §7): what a PO change would do, with nothing written.

The same engine as the dashboard's preview (services/impact.py): the real operation runs in a
write transaction that is rolled back, so what a preview announces is what the change does.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import Connection

from allot.api import schemas as s
from allot.api.deps import Ctx, Ops
from allot.api.problems import problem_responses
from allot.api.routes import LineNo, PathName
from allot.services import impact, purchasing

router = APIRouter(prefix="/v1/purchase-orders", responses=problem_responses(), tags=["purchasing"])


class LinePlace(BaseModel):
    state: str
    promise_date: date | None


class LineMove(BaseModel):
    order_ref: str
    line: int
    sku: str
    before: LinePlace
    after: LinePlace


class SkuFigures(BaseModel):
    available: int
    uncovered: int


class SkuMove(BaseModel):
    sku: str
    before: SkuFigures
    after: SkuFigures


class PreviewOut(BaseModel):
    lines: list[LineMove]
    skus: list[SkuMove]


@router.post("/{ref}/lines/{n}/preview", response_model=PreviewOut)
def preview_line(ref: PathName, n: LineNo, body: s.PoLinePatch, ctx: Ops) -> Any:
    """What PATCH …/lines/{n} with this body would change."""
    names = _skus(ctx, ref, lambda line: line["line"] == n)
    return _preview(ctx, names, lambda c: purchasing.update_line(c, ref, n, body.expected_date, body.qty, ctx.now))


@router.post("/{ref}/receipts/preview", response_model=PreviewOut)
def preview_receipt(ref: PathName, body: s.ReceiptIn, ctx: Ops) -> Any:
    """What POST …/receipts with this body would change."""
    lines = [ln.model_dump() for ln in body.lines]
    wanted = {ln["line"] for ln in lines}
    names = _skus(ctx, ref, lambda line: line["line"] in wanted)
    return _preview(ctx, names, lambda c: purchasing.receive(c, ref, lines, body.close_short, ctx.now))


@router.post("/{ref}/cancel/preview", response_model=PreviewOut)
def preview_cancel(ref: PathName, ctx: Ops) -> Any:
    """What POST …/cancel would change."""
    return _preview(ctx, _skus(ctx, ref, lambda _: True), lambda c: purchasing.cancel(c, ref, ctx.now))


def _skus(ctx: Ctx, ref: str, wanted: Callable[[dict[str, Any]], bool]) -> list[str]:
    with ctx.db.read() as conn:
        po = purchasing.get(conn, ref)
    return sorted({line["sku"] for line in po["lines"] if wanted(line)})


def _preview(ctx: Ctx, names: list[str], op: Callable[[Connection], Any]) -> dict[str, Any]:
    seen = impact.preview(ctx.db, names, op, ctx.now)
    return {
        "lines": [{"order_ref": c.order_ref, "line": c.line, "sku": c.sku,
                   "before": {"state": c.state_from, "promise_date": c.date_from},
                   "after": {"state": c.state_to, "promise_date": c.date_to}} for c in seen.changes],
        "skus": [{"sku": d.sku, "before": {"available": d.available_before, "uncovered": d.uncovered_before},
                  "after": {"available": d.available_after, "uncovered": d.uncovered_after}} for d in seen.skus],
    }
