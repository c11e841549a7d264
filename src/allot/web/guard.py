"""Who is signed in, what they may do, and the CSRF check on every form post."""
from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request

from allot.domain.errors import AllotError, Conflict, Invalid, NotFound
from allot.services.keys import Role
from allot.web.session import COOKIE, Sessions

T = TypeVar("T")
EDITORS = {Role.ADMIN, Role.OPS}
STOREFRONT_REFUSED = ("A storefront key is a machine's key for the shop's API: it cannot sign in to the dashboard. "
                      "Sign in with an admin, ops or viewer key (an admin makes one with: "
                      "allot keys create NAME --role viewer).")


class WebError(Exception):
    """An error shown as a page that says what happened and what to do next."""

    def __init__(self, status: int, title: str, detail: str, next_href: str = "/", next_label: str = "Home") -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.next_href, self.next_label = next_href, next_label


class SignInRequired(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(frozen=True, slots=True)
class WebUser:
    key_id: int
    name: str
    role: Role
    csrf: str

    @property
    def can_edit(self) -> bool:
        """Admins and ops change supply; viewers and storefront keys only look."""
        return self.role in EDITORS


def sessions(request: Request) -> Sessions:
    return request.app.state.web_sessions  # type: ignore[no-any-return]


def session_of(request: Request) -> dict[str, Any] | None:
    return sessions(request).read(request.cookies.get(COOKIE))


def signed_in(request: Request) -> WebUser:
    """The signed-in user, checked against the session's row and the key's (ended, idle or revoked: signed out)."""
    request.state.started = time.perf_counter()
    data = session_of(request)
    row = sessions(request).find(data, request.app.state.clock())
    if row is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else "/skus")  # a form post cannot be replayed
    assert data is not None
    if Role(row.role) is Role.STOREFRONT:
        raise WebError(403, "Not allowed", STOREFRONT_REFUSED, "/signin", "Sign in with another key")
    user = WebUser(row.id, row.name, Role(row.role), str(data["csrf"]))
    request.state.user = user
    return user


def editor(user: Annotated[WebUser, Depends(signed_in)]) -> WebUser:
    if not user.can_edit:
        raise WebError(403, "Not allowed", f"A {user.role} key can look but not change anything. "
                       "Ask an admin for an ops key to make changes.", "/skus", "Back to SKUs")
    return user


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form, refused unless it carries the session's CSRF token."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if any("\x00" in k or "\x00" in v for k, v in fields.items()):  # PostgreSQL cannot hold or compare them
        raise WebError(422, "Check the form", "A field holds a NUL byte, which nothing here can contain.",
                       "/", "Start again")
    data = session_of(request)
    expected = str(data["csrf"]) if data else ""
    if not expected or not hmac.compare_digest(fields.get("csrf", ""), expected):
        raise WebError(403, "Form expired", "This form's security token did not match your session "
                       "(it may be from an old tab, or your session ended). Reload the page and try again.",
                       request.url.path if request.method == "GET" else "/", "Start again")
    return fields


User = Annotated[WebUser, Depends(signed_in)]
Editor = Annotated[WebUser, Depends(editor)]
Form = Annotated[dict[str, str], Depends(form_fields)]


def attempt(fn: Callable[[], T], back: str = "/", back_label: str = "Back") -> T:
    """Run a service call; its refusal becomes a page saying why, with a way back."""
    try:
        return fn()
    except AllotError as e:
        raise WebError(_status(e), _title(e), e.detail, back, back_label) from e


def _status(e: AllotError) -> int:
    return 404 if isinstance(e, NotFound) else 422 if isinstance(e, Invalid) else 409 if isinstance(e, Conflict) \
        else 400


def _title(e: AllotError) -> str:
    return "Not found" if isinstance(e, NotFound) else "Cannot do that" if isinstance(e, (Invalid, Conflict)) \
        else "Something went wrong"


def sign_in_url(path: str) -> str:
    return "/signin?next=" + quote(path, safe="/")
