"""Dashboard pages for customers' email and payments: the messages sent (and re-sending them), the
template editor with its live preview, and the payments report (docs/customers.md)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection, select

from allot.domain.errors import Invalid
from allot.domain.messages import KINDS
from allot.services import messages, payments, templates
from allot.services.samples import sample_context
from allot.store.tables import channels
from allot.web.guard import Editor, Form, User, WebError, attempt
from allot.web.views import redirect, render

router = APIRouter(include_in_schema=False)
MessageId = Annotated[int, Path(ge=1, le=2**62)]
STATUSES = ("pending", "sending", "sent", "dead")


@router.get("/messages", response_class=HTMLResponse)
def message_list(request: Request, user: User, status: str | None = None, after: int = 0) -> Response:
    chosen = status if status in STATUSES else None
    with request.app.state.db.read() as conn:
        page = messages.listing(conn, status=chosen, after=max(0, after), limit=100)
    return render(request, "messages.html", {"user": user, "page": page, "status": chosen, "statuses": STATUSES,
                                             "notice": request.query_params.get("notice")})


@router.post("/messages/{message_id}/resend")
def resend(request: Request, user: Editor, form: Form, message_id: MessageId) -> Response:
    def run() -> None:
        with request.app.state.db.write() as conn:
            messages.resend(conn, message_id, request.app.state.clock())

    attempt(run, "/messages", "Messages")
    return redirect("/messages?notice=resent")


@router.get("/payments", response_class=HTMLResponse)
def payments_page(request: Request, user: User) -> Response:
    with request.app.state.db.read() as conn:
        report = payments.report(conn)
    return render(request, "payments.html", {"user": user, "report": report})


def _channel(conn: Connection, name: str, kind: str) -> None:
    if kind not in KINDS:
        raise WebError(404, "No such message", f"There is no message {kind!r}.", "/messages", "Messages")
    if conn.execute(select(channels.c.name).where(channels.c.name == name)).first() is None:
        raise WebError(404, "No such channel", f"There is no channel {name!r}.", "/channels", "Channels")


def _editor(request: Request, user: Any, name: str, kind: str, template: dict[str, str], custom: bool,
            problems: list[dict[str, Any]] | None = None, status: int = 200, saved: bool = False) -> Response:
    with request.app.state.db.read() as conn:
        _channel(conn, name, kind)
        rendered, found = templates.render(template, sample_context(conn, name, kind))
    preview = {**rendered, "problems": problems if problems is not None else [p.as_dict() for p in found]}
    return render(request, "template_editor.html", {
        "user": user, "channel": name, "kind": kind, "kinds": KINDS, "template": template, "custom": custom,
        "preview": preview, "saved": saved}, status)


@router.get("/channels/{name}/templates/{kind}", response_class=HTMLResponse)
def template_page(request: Request, user: User, name: str, kind: str) -> Response:
    with request.app.state.db.read() as conn:
        _channel(conn, name, kind)
        template = templates.for_channel(conn, name, kind)
        custom = templates.is_custom(conn, name, kind)
    return _editor(request, user, name, kind, template, custom, saved=request.query_params.get("saved") == "1")


def _posted(form: dict[str, str]) -> dict[str, str]:
    return {part: form.get(part, "").replace("\r\n", "\n") for part in templates.PARTS}


@router.post("/channels/{name}/templates/{kind}/preview", response_class=HTMLResponse)
def template_preview(request: Request, user: User, form: Form, name: str, kind: str) -> Response:
    """The live preview (htmx swaps in the fragment) or, without JavaScript, the whole editor again."""
    template = _posted(form)
    if request.headers.get("HX-Request"):
        with request.app.state.db.read() as conn:
            _channel(conn, name, kind)
            rendered, found = templates.render(template, sample_context(conn, name, kind))
        return render(request, "_template_preview.html",
                      {"preview": {**rendered, "problems": [p.as_dict() for p in found]}})
    return _editor(request, user, name, kind, template, custom=False)


@router.post("/channels/{name}/templates/{kind}")
def template_save(request: Request, user: Editor, form: Form, name: str, kind: str) -> Response:
    """Keep the channel's wording only if it renders; else the editor again with the line and reason."""
    template = _posted(form)
    try:
        with request.app.state.db.write() as conn:
            _channel(conn, name, kind)
            if form.get("reset"):
                templates.reset(conn, name, kind)
            else:
                templates.save(conn, name, kind, template, sample_context(conn, name, kind),
                               request.app.state.clock())
    except Invalid as refused:
        return _editor(request, user, name, kind, template, custom=False, problems=refused.extra.get("problems"),
                       status=422)
    return redirect(f"/channels/{name}/templates/{kind}?saved=1")
