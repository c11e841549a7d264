"""CSV files over real HTTP: import (at once, or as a job with progress) and streamed export."""
from __future__ import annotations

import time

import httpx

from tests.conftest import Server

CSV = {"Content-Type": "text/csv"}
CHANNELS = b"channel,allow_backorder,allow_preorder\nweb,true,true\n"
SKUS = b"sku,mode,name\nMUG,backorder,Mug\nLAMP,stock,Lamp\n"


def setup(client: httpx.Client) -> None:
    assert client.post("/v1/imports/channels", content=CHANNELS, headers=CSV).status_code == 200
    assert client.post("/v1/imports/skus", content=SKUS, headers=CSV).status_code == 200


def test_a_small_file_is_imported_at_once_and_exported_back(server: Server) -> None:
    with server.client() as client:
        setup(client)
        done = client.post("/v1/imports/stock", content=b"sku,on_hand\nMUG,5\n", headers=CSV)
        assert done.status_code == 200, done.text
        assert done.json()["updated"] == 1 and done.json()["dry_run"] is False
        exported = client.get("/v1/exports/stock")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        assert exported.text == "sku,on_hand,reason\nMUG,5,count\nLAMP,0,count\n"
        assert client.get("/v1/skus/MUG").json()["on_hand"] == 5
        assert client.get("/v1/audit", params={"action": "import_stock"}).json()["entries"]


def test_a_bad_file_is_422_listing_every_bad_row_and_nothing_is_written(server: Server) -> None:
    with server.client() as client:
        setup(client)
        body = b"ref,channel,sku,qty\nA-1,web,MUG,1\nA-2,web,MUG,x\nA-3,shop,MUG,1\nA-4,web,NOPE,1\n"
        bad = client.post("/v1/imports/orders", content=body, headers=CSV)
        assert bad.status_code == 422
        assert [(e["line"], e["column"]) for e in bad.json()["errors"]] == [(3, "qty"), (4, "channel"), (5, "sku")]
        assert client.get("/v1/exports/orders").text.count("\n") == 1  # the header only
        not_utf8 = client.post("/v1/imports/orders", content=b"ref,channel,sku,qty\nA-1,web,MUG,\xff\n", headers=CSV)
        assert not_utf8.status_code == 422 and "UTF-8" in not_utf8.json()["errors"][0]["reason"]
        assert client.post("/v1/imports/orders", content=body, headers={"Content-Type": "application/json"}
                           ).status_code == 422
        assert client.post("/v1/imports/widgets", content=body, headers=CSV).status_code == 404


def test_a_dry_run_over_http_writes_nothing(server: Server) -> None:
    with server.client() as client:
        setup(client)
        dry = client.post("/v1/imports/orders", params={"dry_run": "true"}, content=b"ref,channel,sku,qty\nA-1,web,MUG,1\n",
                          headers=CSV)
        assert dry.status_code == 200 and dry.json()["dry_run"] is True and dry.json()["created"] == 1
        assert client.get("/v1/orders/A-1").status_code == 404


def test_a_large_file_becomes_a_job_whose_progress_can_be_followed(server: Server) -> None:
    rows = 8000
    body = "ref,channel,sku,qty,customer\n" + "".join(f"L-{i},web,MUG,1,someone-{i}@example.com\n"
                                                    for i in range(rows))
    assert len(body) > 256 * 1024
    with server.client() as client:
        setup(client)
        started = client.post("/v1/imports/orders", content=body.encode(), headers=CSV)
        assert started.status_code == 202, started.text
        job = started.json()
        assert started.headers["location"] == f"/v1/imports/jobs/{job['id']}"
        deadline = time.monotonic() + 60
        while job["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            job = client.get(f"/v1/imports/jobs/{job['id']}").json()
        assert job["status"] == "done", job
        assert job["rows_done"] == job["rows_total"] == rows
        assert client.get("/v1/orders/L-7999").json()["lines"][0]["state"] == "backordered"
        exported = client.get("/v1/exports/order-lines")
        assert exported.text.count("\n") == rows + 1
