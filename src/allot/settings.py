"""Settings, read once at start-up from the environment (never at import time)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    bootstrap_admin_key: str | None = None
    sweep_seconds: float = 2.0
    max_body_bytes: int = 1024 * 1024
    # Signs dashboard session cookies; when unset, one is made and kept in the database.
    session_secret: str | None = None
    batching: bool = True

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        default = f"sqlite:///{Path.cwd() / 'allot.db'}"
        return cls(
            database_url=env.get("ALLOT_DATABASE_URL") or default,
            bootstrap_admin_key=env.get("ALLOT_BOOTSTRAP_ADMIN_KEY") or None,
            sweep_seconds=float(env.get("ALLOT_SWEEP_SECONDS", "2")),
            max_body_bytes=int(env.get("ALLOT_MAX_BODY_BYTES", str(1024 * 1024))),
            session_secret=env.get("ALLOT_SESSION_SECRET") or None,
            batching=env.get("ALLOT_BATCHING", "on").lower() not in ("off", "0", "false"),
        )
