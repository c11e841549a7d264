"""The Import page: upload a CSV file, see what it would change (or every bad row), then confirm.

The upload is kept in a private temporary file named by a random token; the preview is a dry
run of the real import, and the confirm form posts the token, so the file is not sent twice. A
token is used once: the file is deleted when it is imported.
"""
from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from allot.api.middleware import request_id
from allot.connectors.csv_files import COLUMNS, IMPORTS
from allot.domain.errors import AllotError
from allot.services import audit, imports
from allot.web.guard import Editor, Form, WebError, WebUser
from allot.web.views import render

router = APIRouter(include_in_schema=False)
UPLOADS = Path(tempfile.gettempdir()) / "allot-imports"
TOKEN = re.compile(r"^[0-9a-f]{32}$")
SHOWN_PROBLEMS = 500
UPLOAD_LIFETIME = 3600  # seconds an unconfirmed preview's file is kept


def _upload(token: str) -> Path:
    if not TOKEN.match(token):
        raise WebError(404, "Not found", "That upload does not exist.", "/import", "Import a file")
    return UPLOADS / f"{token}.csv"


def _page(request: Request, user: WebUser, status: int = 200, **context: Any) -> Response:
    return render(request, "import.html", {"user": user, "kinds": IMPORTS, "columns": COLUMNS, **context},
                  status=status)


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, user: Editor) -> Response:
    return _page(request, user)


@router.post("/import/preview", response_class=HTMLResponse)
async def import_preview(request: Request, user: Editor, form: Form) -> Response:
    kind = form.get("kind", "")
    upload = (await request.form()).get("file")
    if kind not in IMPORTS or not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, user, 422, error="Choose what the file holds and the file to upload.", kind=kind)
    # Saving the file and the dry run (a whole import, rolled back) run in a thread: on the event loop
    # they would stall every other request, sales included, for as long as the file takes.
    return await run_in_threadpool(_save_and_dry_run, request, user, kind, upload)


def _save_and_dry_run(request: Request, user: WebUser, kind: str, upload: UploadFile) -> Response:
    token = secrets.token_hex(16)
    UPLOADS.mkdir(mode=0o700, exist_ok=True)
    _forget_stale_uploads()
    with _upload(token).open("wb") as saved:
        shutil.copyfileobj(upload.file, saved, 1024 * 1024)
    return _dry_run(request, user, kind, token, upload.filename or "")


def _forget_stale_uploads() -> None:
    """Previews nobody confirmed: their files go after an hour, so the directory cannot grow for ever."""
    cutoff = time.time() - UPLOAD_LIFETIME
    for old in UPLOADS.glob("*.csv"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # confirmed, or tidied by another request, meanwhile
            pass


def _dry_run(request: Request, user: WebUser, kind: str, token: str, filename: str) -> Response:
    path = _upload(token)
    now = request.app.state.clock()
    try:
        result = imports.run(request.app.state.db, kind, lambda: path.open("rb"), now, dry_run=True,
                             actor=_actor(user), change=_change(request, kind, filename))
    except imports.BadFile as bad:
        path.unlink(missing_ok=True)
        return _page(request, user, 422, kind=kind, filename=filename, problems=bad.problems[:SHOWN_PROBLEMS],
                     problem_count=len(bad.problems))
    except AllotError as e:
        path.unlink(missing_ok=True)
        return _page(request, user, 422, error=e.detail, kind=kind)
    return _page(request, user, kind=kind, filename=filename, token=token, preview=result)


@router.post("/import/confirm", response_class=HTMLResponse)
def import_confirm(request: Request, user: Editor, form: Form) -> Response:
    kind, token, filename = form.get("kind", ""), form.get("token", ""), form.get("filename", "")[:200]
    path = _upload(token)
    if kind not in IMPORTS or not path.exists():
        raise WebError(409, "Already imported", "This upload was imported already, or has expired. "
                       "Upload the file again to import it.", "/import", "Import a file")
    now = request.app.state.clock()
    try:
        result = imports.run(request.app.state.db, kind, lambda: path.open("rb"), now, dry_run=False,
                             actor=_actor(user), change=_change(request, kind, filename))
    except imports.BadFile as bad:  # something changed since the preview
        return _page(request, user, 422, kind=kind, filename=filename, problems=bad.problems[:SHOWN_PROBLEMS],
                     problem_count=len(bad.problems))
    finally:
        path.unlink(missing_ok=True)
    return _page(request, user, kind=kind, filename=filename, done=result)


def _actor(user: WebUser) -> audit.Actor:
    return audit.Actor(user.key_id, user.name, user.role.value)


def _change(request: Request, kind: str, filename: str) -> audit.Change:
    return audit.Change(request_id(request.scope), request.method, request.url.path, f"import_{kind}", 200,
                        {"params": {"kind": kind}, "body": {"file": filename}})
