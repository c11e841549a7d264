"""A channel's storefront connection (BRIEF §7): connect, look, disconnect. Answers never hold a secret."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from allot.api import schemas as s
from allot.api.deps import Admin, Ops, write
from allot.api.problems import problem_responses
from allot.api.push_schemas import PushStatusOut
from allot.services import storefronts

router = APIRouter(prefix="/v1/channels", tags=["storefronts"], responses=problem_responses())
Channel = Annotated[str, Path(min_length=1, max_length=100, pattern=s.NAME_PATTERN)]
Secret = Annotated[str, Field(min_length=1, max_length=200, pattern=s.NO_NUL), s.Storable]
Host = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*(:[0-9]{1,5})?$")]
Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s\x00]+$")]


class StorefrontIn(s.Body):
    platform: Literal["shopify", "woocommerce"]
    secret: Secret = Field(description="the webhook signing secret (Shopify: the app's client secret or the "
                                       "notifications key; WooCommerce: the webhook's Secret)")
    shop: Host | None = Field(default=None, description="Shopify: the shop's domain, e.g. example.myshopify.com")
    admin_token: Secret | None = Field(default=None, description="Shopify: an Admin API access token")
    location_id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9:/._\-]+$")] | int | None = (
        Field(default=None, description="Shopify: the location whose stock Allot sets"))
    url: Url | None = Field(default=None, description="WooCommerce: the store's address")
    consumer_key: Secret | None = Field(default=None, description="WooCommerce: a REST API consumer key")
    consumer_secret: Secret | None = Field(default=None, description="WooCommerce: its consumer secret")
    api_base: Url | None = Field(default=None, description="the shop's API base URL, if not the usual one")


class StorefrontOut(BaseModel):
    channel: str
    platform: str
    shop: str | None
    url: str | None
    location_id: str | None
    api_base: str | None
    credentials: bool = Field(description="whether admin credentials are set (they are never shown)")
    push: PushStatusOut | None = Field(default=None, description="the stock push's health; null without admin "
                                                                 "credentials")


def _status(result: dict[str, Any]) -> int:
    return 201 if result.pop("created", False) else 200


@router.put("/{channel}/storefront", response_model=StorefrontOut,
            responses={201: {"model": StorefrontOut, "description": "connected"}})
def connect(channel: Channel, body: StorefrontIn, ctx: Admin) -> Response:
    """Connect the channel to the shop that sells on it; its webhooks then go to /v1/storefronts/{channel}/webhooks."""
    settings = body.model_dump(exclude={"platform", "secret"})
    return write(ctx, body, lambda conn: storefronts.connect(conn, channel, body.platform, body.secret, settings,
                                                             ctx.now), _status, replayable=False)


@router.get("/{channel}/storefront", response_model=StorefrontOut)
def get(channel: Channel, ctx: Ops) -> Any:
    with ctx.db.read() as conn:
        return storefronts.get(conn, channel)


@router.delete("/{channel}/storefront", status_code=204)
def disconnect(channel: Channel, ctx: Admin) -> Response:
    """Stop taking the shop's webhooks on this channel; orders already taken stay."""
    return write(ctx, None, lambda conn: storefronts.disconnect(conn, channel), 204)
