"""Message templates: the defaults, a channel's own, and checking one renders before it is kept.

Templates are Jinja2 in a sandbox (a merchant's text must not reach Python's insides) with
StrictUndefined (a misspelt variable is an error, never an empty gap in a customer's email); the
HTML part is autoescaped. A template is checked by rendering it against a sample message, so an
unknown variable is found at save, with its line, not when the first customer's email is made.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Connection, delete, insert, select, update

from allot.domain.errors import Invalid
from allot.domain.messages import KINDS, STATE_WORDS, nice_date
from allot.store.tables import message_templates

PARTS = ("subject", "text", "html")
DEFAULTS = Path(__file__).parent / "message_templates"

SUBJECTS = {
    "confirmation": "Your order {{ order_ref }}: here is when it ships",
    "promise_later": "Your order {{ order_ref }}: a new date",
    "backordered": "Your order {{ order_ref }}: we are waiting for new stock",
    "consent_requested": "Your order {{ order_ref }}: wait or cancel? Your choice",
    "ready": "Your order {{ order_ref }} is ready",
    "shipped": "Your order {{ order_ref }} is on its way",
    "cancelled": "Your order {{ order_ref }}: cancelled",
}


def _environment(html: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=html, trim_blocks=True,
                               keep_trailing_newline=False)
    env.filters["nice_date"] = nice_date
    env.filters["state_words"] = lambda s: STATE_WORDS.get(s or "", s or "")
    return env


ENVIRONMENTS = {"subject": _environment(False), "text": _environment(False), "html": _environment(True)}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a template does not render: which part, which line, what is wrong."""

    part: str
    line: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"part": self.part, "line": self.line, "reason": self.reason}


def default(kind: str) -> dict[str, str]:
    return {"subject": SUBJECTS[kind], "text": _default_file("message.txt"), "html": _default_file("message.html")}


def for_channel(conn: Connection, channel: str, kind: str) -> dict[str, str]:
    """The channel's own template for this kind of message, else the default."""
    row = conn.execute(select(message_templates).where(message_templates.c.channel == channel,
                                                       message_templates.c.kind == kind)).first()
    if row is None:
        return default(kind)
    return {"subject": row.subject, "text": row.text, "html": row.html}


def is_custom(conn: Connection, channel: str, kind: str) -> bool:
    return conn.execute(select(message_templates.c.kind).where(
        message_templates.c.channel == channel, message_templates.c.kind == kind)).first() is not None


def render(template: dict[str, str], context: dict[str, Any]) -> tuple[dict[str, str], list[Problem]]:
    """Each part rendered, or the problems that stop it (a part that fails renders as '')."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for part in PARTS:
        try:
            text = _compiled(part, template[part]).render(context)
        except TemplateSyntaxError as e:
            problems.append(Problem(part, e.lineno, e.message or str(e)))
            text = ""
        except TemplateError as e:
            problems.append(Problem(part, _template_line(e), str(e)))
            text = ""
        except Exception as e:  # noqa: BLE001 - a merchant's template may divide by zero or add text to a number:
            # refused at save, and the default wording goes out, rather than one template stopping every email
            problems.append(Problem(part, None, f"{type(e).__name__}: {e}"))
            text = ""
        out[part] = " ".join(text.split()) if part == "subject" else text
    return out, problems


@lru_cache(maxsize=256)
def _compiled(part: str, source: str) -> Template:
    """Compiling is most of the cost of rendering: a slip's thousand emails share a handful of templates."""
    return ENVIRONMENTS[part].from_string(source)


@lru_cache(maxsize=16)
def _default_file(name: str) -> str:
    return (DEFAULTS / name).read_text()


def _template_line(error: BaseException) -> int | None:
    """The template's line the error was raised on (Jinja2 puts template frames in the traceback)."""
    line = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def save(conn: Connection, channel: str, kind: str, template: dict[str, str], sample: dict[str, Any],
         now: datetime) -> None:
    """Keep a channel's template only if every part renders against a sample message."""
    _, problems = render(template, sample)
    if problems:
        first = problems[0]
        where = f" (line {first.line})" if first.line else ""
        refused = Invalid(first.part, f"{first.reason}{where}")
        refused.extra["problems"] = [p.as_dict() for p in problems]
        raise refused
    values = {part: template[part] for part in PARTS}
    t = message_templates.c
    if is_custom(conn, channel, kind):
        conn.execute(update(message_templates).where(t.channel == channel, t.kind == kind)
                     .values(**values, updated_at=now))
    else:
        conn.execute(insert(message_templates).values(channel=channel, kind=kind, updated_at=now, **values))


def reset(conn: Connection, channel: str, kind: str) -> None:
    """Back to the default wording."""
    t = message_templates.c
    conn.execute(delete(message_templates).where(t.channel == channel, t.kind == kind))


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise Invalid("kind", f"unknown message kind {kind!r}; one of {', '.join(KINDS)}")
    return kind
