"""Carts in Redis: one hash per cart under `<namespace>:cart:<id>`, expiring `ttl` seconds after the
last write, and `<namespace>:cart:owner:<user id>` pointing at a customer's cart.

Every write is one Lua script (see `scripts`), so concurrent writers never lose each other's changes
and never push a cart past its limits; a read is one HGETALL. No PostgreSQL: a cart is disposable
until it becomes an order, and the order saga copies what it needs (`checkout_snapshot`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from mercato.cart.adapters import scripts
from mercato.cart.domain.errors import CartProblem
from mercato.cart.domain.model import Cart, CartLimits, CartNotFound, WriteRefused


def _text(value: bytes | str) -> str:
    # Works whether or not the client was built with decode_responses.
    return value.decode() if isinstance(value, bytes) else value


def decode_cart(cart_id: uuid.UUID, fields: Mapping[str, str]) -> Cart:
    """A cart from its hash fields (see `scripts` for the layout)."""
    quantities: dict[str, int] = {}
    positions: dict[str, int] = {}
    for name, value in fields.items():
        kind, sku = name[:2], name[2:]
        if kind == "l:":
            quantities[sku] = int(value)
        elif kind == "o:":
            positions[sku] = int(value)
    ordered = sorted(quantities, key=lambda sku: (positions.get(sku, 0), sku))
    owner = fields.get("m:owner", "")
    return Cart(
        id=cart_id,
        owner_id=uuid.UUID(owner) if owner else None,
        lines={sku: quantities[sku] for sku in ordered},
        created_at=datetime.fromisoformat(fields["m:created"]),
        updated_at=datetime.fromisoformat(fields["m:updated"]),
    )


def _pairs(flat: Sequence[Any]) -> dict[str, str]:
    return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}


class RedisCartStore:
    def __init__(self, redis: Redis, namespace: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:cart:"
        self.ttl = ttl_seconds
        self._create = redis.register_script(scripts.CREATE)
        self._add = redis.register_script(scripts.ADD)
        self._remove_bought = redis.register_script(scripts.REMOVE_BOUGHT)
        self._update = redis.register_script(scripts.UPDATE)
        self._remove = redis.register_script(scripts.REMOVE)
        self._clear = redis.register_script(scripts.CLEAR)
        self._merge = redis.register_script(scripts.MERGE)

    def key(self, cart_id: uuid.UUID) -> str:
        return f"{self.prefix}{cart_id}"

    def owner_key(self, user_id: uuid.UUID) -> str:
        return f"{self.prefix}owner:{user_id}"

    async def create(self, cart: Cart) -> Cart:
        keys = [self.key(cart.id)]
        if cart.owner_id is not None:
            keys.append(self.owner_key(cart.owner_id))
        owner = str(cart.owner_id) if cart.owner_id else ""
        now = cart.created_at.isoformat()
        cart_id, fields = await self._create(
            keys=keys, args=[str(cart.id), owner, now, self.ttl, self.prefix]
        )
        return decode_cart(uuid.UUID(_text(cart_id)), _pairs(fields))

    async def load(self, cart_id: uuid.UUID) -> Cart | None:
        raw = await self.redis.hgetall(self.key(cart_id))
        if not raw:
            return None
        return decode_cart(cart_id, {_text(k): _text(v) for k, v in raw.items()})

    async def add(
        self,
        cart_id: uuid.UUID,
        caller: uuid.UUID | None,
        quantities: Mapping[str, int],
        limits: CartLimits,
        now: datetime,
    ) -> Cart:
        extra: list[str | int] = [limits.max_lines, limits.max_quantity]
        for sku, quantity in quantities.items():
            extra += [sku, quantity]
        return await self._shopper_write(self._add, cart_id, caller, now, extra)

    async def set_quantities(
        self, cart_id: uuid.UUID, caller: uuid.UUID | None, quantities: Mapping[str, int], now: datetime
    ) -> Cart:
        extra: list[str | int] = []
        for sku, quantity in quantities.items():
            extra += [sku, quantity]
        return await self._shopper_write(self._update, cart_id, caller, now, extra)

    async def remove(
        self, cart_id: uuid.UUID, caller: uuid.UUID | None, skus: Sequence[str], now: datetime
    ) -> Cart:
        return await self._shopper_write(self._remove, cart_id, caller, now, list(skus))

    async def merge(self, source_id: uuid.UUID, owner: uuid.UUID, limits: CartLimits, now: datetime) -> Cart:
        result = await self._merge(
            keys=[self.key(source_id), self.owner_key(owner)],
            args=[
                str(owner),
                now.isoformat(),
                self.ttl,
                str(source_id),
                self.prefix,
                limits.max_lines,
                limits.max_quantity,
            ],
        )
        if _text(result[0]) != "OK":
            raise CartNotFound()
        return decode_cart(uuid.UUID(_text(result[1])), _pairs(result[2]))

    async def clear(self, cart_id: uuid.UUID, now: datetime) -> None:
        await self._clear(keys=[self.key(cart_id)], args=[now.isoformat(), self.ttl])

    async def remove_bought(
        self, cart_id: uuid.UUID, order_id: uuid.UUID, lines: Sequence[tuple[str, int]], now: datetime
    ) -> bool:
        key = self.key(cart_id)
        args: list[str | int] = [now.isoformat(), self.ttl]
        for sku, quantity in lines:
            args.extend((sku, quantity))
        return bool(await self._remove_bought(keys=[key, f"{key}:bought:{order_id}"], args=args))

    async def _shopper_write(
        self,
        script: AsyncScript,
        cart_id: uuid.UUID,
        caller: uuid.UUID | None,
        now: datetime,
        extra: Sequence[str | int],
    ) -> Cart:
        keys = [self.key(cart_id)]
        if caller is not None:
            keys.append(self.owner_key(caller))
        args = [str(caller) if caller else "", now.isoformat(), self.ttl, str(cart_id), *extra]
        status, detail = await script(keys=keys, args=args)
        outcome = _text(status)
        if outcome == "OK":
            return decode_cart(cart_id, _pairs(detail))
        if outcome == CartProblem.CART_NOT_FOUND.name:
            raise CartNotFound()
        sku = _text(detail)
        raise WriteRefused(CartProblem[outcome], sku or None)
