"""CSV files over HTTP: `POST /v1/imports/{kind}` (a `text/csv` body) and `GET /v1/exports/{kind}` (streamed).

A body up to SYNC_BYTES is imported while the client waits: 200 with what changed, or 422 listing
every bad row. A larger one becomes a job: 202 with its id at once, then `GET /v1/imports/jobs/{id}`
shows its progress (`rows_done` of `rows_total`) and, when it ends, its outcome. The body is
spooled to a temporary file as it arrives, so neither path holds a large file in memory.
"""
from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Annotated, Any, BinaryIO

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from allot.api.answers import ImportJobOut, ImportOut
from allot.api.deps import Ctx, Ops, Reader, plain
from allot.api.middleware import request_id
from allot.api.problems import of, problem_responses
from allot.connectors.csv_files import EXPORTS, IMPORTS, write
from allot.domain.errors import Invalid
from allot.services import audit, exports, import_jobs, imports

router = APIRouter(prefix="/v1", tags=["files"], responses=problem_responses(401, 403, 404, 413, 422))
SYNC_BYTES = 256 * 1024  # above this, an import runs as a job with a progress figure
SPOOL_BYTES = 1024 * 1024  # kept in memory up to this, then on disk
Kind = Annotated[str, Path(description=f"one of: {', '.join(IMPORTS)}", max_length=40)]
ExportKind = Annotated[str, Path(description=f"one of: {', '.join(EXPORTS)}", max_length=40)]
CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}}


async def _spool(request: Request) -> tuple[IO[bytes], int]:
    body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by the caller
    size = 0
    async for chunk in request.stream():
        body.write(chunk)
        size += len(chunk)
    return body, size


def opener(body: IO[bytes]) -> Any:
    @contextmanager
    def reopen() -> Iterator[BinaryIO]:
        body.seek(0)
        yield body  # type: ignore[misc]  # a SpooledTemporaryFile reads like a binary file
    return reopen


def _check_type(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("text/csv", "application/csv"):
        raise Invalid("Content-Type", "send the file as text/csv (UTF-8, a header row)")


def change(ctx: Ctx, kind: str, dry_run: bool) -> audit.Change:
    scope = ctx.request.scope
    return audit.Change(request_id(scope), ctx.request.method, scope["path"], f"import_{kind}", 200,
                        {"params": {"kind": kind}, "body": {"dry_run": dry_run}})


@router.post("/imports/{kind}", openapi_extra=CSV_BODY, status_code=200,
             responses={200: {"model": ImportOut, "description": "imported (or checked, with dry_run)"},
                        202: {"model": ImportJobOut, "description": "a large file: the import runs as a job"}})
async def import_file(kind: Kind, ctx: Ops, dry_run: Annotated[bool, Query()] = False) -> Any:
    """Import a CSV file all or nothing (ops): every bad row is listed and nothing is written."""
    imports.require_kind(kind)
    _check_type(ctx.request)
    body, size = await _spool(ctx.request)
    if size > SYNC_BYTES:
        # A write: in a thread, so a busy database (SQLite's one writer) never stalls the event loop.
        job = await run_in_threadpool(import_jobs.start, ctx.db, kind, dry_run, ctx.principal.key_id, ctx.now)
        threading.Thread(target=_run_job, args=(ctx, kind, dry_run, body, job), daemon=True).start()
        return JSONResponse(plain(import_jobs.view(job)), status_code=202,
                            headers={"Location": f"/v1/imports/jobs/{job.id}"})
    try:
        return await run_in_threadpool(imports.run, ctx.db, kind, opener(body), ctx.now, dry_run=dry_run,
                                       actor=ctx.actor, change=change(ctx, kind, dry_run))
    finally:
        body.close()


def _run_job(ctx: Ctx, kind: str, dry_run: bool, body: IO[bytes], job: import_jobs.Job) -> None:
    try:
        checked = imports.count_rows(ctx.db, kind, opener(body))
        job.rows_total = checked.rows
        result = imports.run(ctx.db, kind, opener(body), ctx.now, dry_run=dry_run, actor=ctx.actor,
                             change=change(ctx, kind, dry_run), progress=job.advance, checked=checked)
        import_jobs.finish(ctx.db, job, "done", ctx.request.app.state.clock(), result=result)
    except imports.BadFile as bad:
        import_jobs.finish(ctx.db, job, "rejected", ctx.request.app.state.clock(), errors=of(bad)[1]["errors"])
    except Exception as e:  # noqa: BLE001 - the job must end with a status, whatever went wrong
        import_jobs.finish(ctx.db, job, "failed", ctx.request.app.state.clock(),
                           errors=[{"line": None, "column": None, "reason": f"{type(e).__name__}: {e}"[:500]}])
    finally:
        body.close()


@router.get("/imports/jobs/{job_id}", responses={200: {"model": ImportJobOut, "description": "the job"}})
def import_job(job_id: Annotated[str, Path(max_length=40, pattern=r"^imp_[0-9a-f]{32}$")], ctx: Ops) -> Any:
    """An import job: its status and progress figure, then its outcome or every bad row."""
    return plain(import_jobs.get(ctx.db, job_id))


@router.get("/exports/{kind}", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def export_file(kind: ExportKind, ctx: Reader) -> StreamingResponse:
    """A CSV file of one kind, streamed as it is read (flat memory, however large)."""
    exports.require_kind(kind)
    pieces = (piece.encode("utf-8") for piece in write(kind, exports.rows(ctx.db, kind)))
    return StreamingResponse(pieces, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'})


