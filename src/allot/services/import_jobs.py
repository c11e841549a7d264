"""Import jobs: a large HTTP import runs in the background and shows a progress figure.

The job's row is written when it starts and when it ends. While it runs, its progress lives in
this process's memory: the import holds its one write transaction for the whole file, and on
SQLite no other write may happen meanwhile, so progress is never written row by row.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from allot.domain.errors import NotFound
from allot.store.db import Database
from allot.store.tables import import_jobs

_running: dict[str, Job] = {}
_lock = threading.Lock()


@dataclass(slots=True)
class Job:
    id: str
    kind: str
    dry_run: bool
    created_at: datetime
    status: str = "running"
    rows_total: int | None = None
    rows_done: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    finished_at: datetime | None = None

    def advance(self, rows_done: int) -> None:
        self.rows_done = rows_done


def start(db: Database, kind: str, dry_run: bool, key_id: int | None, now: datetime) -> Job:
    """Record a job about to run; its progress is then visible from this process."""
    job = Job(f"imp_{uuid.uuid4().hex}", kind, dry_run, now)
    with db.write() as conn:
        conn.execute(insert(import_jobs).values(id=job.id, kind=kind, dry_run=dry_run, status=job.status,
                                                rows_done=0, errors=[], api_key_id=key_id, created_at=now))
    with _lock:
        _running[job.id] = job
    return job


def finish(db: Database, job: Job, status: str, now: datetime, *, result: dict[str, Any] | None = None,
           errors: list[dict[str, Any]] | None = None) -> None:
    """Record how a job ended: done (with what changed), rejected (every bad row) or failed."""
    job.status, job.result, job.errors, job.finished_at = status, result, errors or [], now
    if result is not None:
        job.rows_done = result["rows"]
    with db.write() as conn:
        conn.execute(update(import_jobs).where(import_jobs.c.id == job.id).values(
            status=status, rows_total=job.rows_total, rows_done=job.rows_done, errors=job.errors, result=result,
            finished_at=now))
    with _lock:
        _running.pop(job.id, None)


def get(db: Database, job_id: str) -> dict[str, Any]:
    job = _running.get(job_id)
    if job is not None:
        return view(job)
    with db.read() as conn:
        row = conn.execute(select(import_jobs).where(import_jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"unknown import {job_id!r}", id=job_id)
    return view(Job(row.id, row.kind, row.dry_run, row.created_at, row.status, row.rows_total, row.rows_done,
                    row.errors, row.result, row.finished_at))


def view(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "dry_run": job.dry_run, "status": job.status,
            "rows_total": job.rows_total, "rows_done": job.rows_done, "errors": job.errors, "result": job.result,
            "created_at": job.created_at, "finished_at": job.finished_at}
