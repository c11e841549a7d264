"""How long the mailer takes to turn a big PO slip into emails: N orders of one line each, all on one
PO line, slipped two weeks; then one compose pass and the SMTP sends to a local aiosmtpd.

    PYTHONPATH=. .venv/bin/python bench/mail_compose.py --orders 2000
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.mail import SmtpSink, mailer

from allot.services import catalog, mail_compose, messages, purchasing, selling
from allot.store.db import Database
from allot.store.migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=2000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(db)
        with db.write() as conn:
            catalog.put_channel(conn, "web", {"allow_backorder": True, "allow_preorder": True, "padding_days": 0}, now)
            messages.put_settings(conn, "web", {"from_": "Shop <a@shop.example>", "send": ["promise_later"]}, now)
            catalog.put_sku(conn, "S", {"mode": "backorder", "handling_days": 0}, now)
            purchasing.create(conn, "PO", None, [{"sku": "S", "qty": args.orders,
                                                  "expected_date": now.date() + timedelta(days=10)}], now)
            for i in range(args.orders):
                selling.place_order(conn, f"O{i}", "web", 0, None, [{"sku": "S", "qty": 1}], now,
                                    selling.Extras(email=f"c{i}@example.org"))
        sink = SmtpSink().start()
        m = mailer(db, lambda: now, sink.url)
        while m.publish() or m.compose():
            pass
        with db.write() as conn:
            purchasing.update_line(conn, "PO", 1, now.date() + timedelta(days=24), None, now)
        while m.publish():
            pass
        started = time.perf_counter()
        passes = 0
        while m.compose():
            passes += 1
        composed = time.perf_counter() - started
        started = time.perf_counter()
        while m.deliver():
            pass
        sent = time.perf_counter() - started
        sink.stop()
        with db.read() as conn:
            made = len(messages.listing(conn, limit=args.orders + 10)["items"])
        print(f"{args.orders} orders slipped: {made} messages composed in {composed:.2f} s ({passes} passes of "
              f"{mail_compose.BATCH} events), sent to a local SMTP server in {sent:.2f} s")
        db.dispose()


if __name__ == "__main__":
    main()
