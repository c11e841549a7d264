"""The SKU page's locations: its numbers per location, and the queue filtered to one location."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from allot.domain import planner
from allot.domain.planner import Plan
from allot.services import reports
from allot.services.book import Book
from allot.services.overview import Page


def located(book: Book, location: str) -> dict[str, Any]:
    """Per-location figures (what the SKU as a whole may still use there) and the chosen filter."""
    s = book.summary
    free = planner.free_at(book.supply, Plan({}, s["free"], s["uncovered"]), reports.ANY_CHANNEL.name, book.today)
    return {"places": reports.by_location(book, free), "location": location if location in book.supply.locations
            else ""}


def only_at(page: Page, book: Book, location: str) -> Page:
    """The page's lines with units at `location` (this page only: the pager still counts every line)."""
    if location not in book.supply.locations:
        return page
    where = {b.key: b.location for b in book.supply.buckets}
    kept = [e for e in page.items if any(where.get(t.bucket) == location for t in e["takes"])]
    return replace(page, items=kept)
