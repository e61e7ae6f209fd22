"""The cart's use cases. Each checks its input, checks the caller may reach the cart, asks the
catalog what it needs in one batch, and writes through the store (whose script re-checks atomically).
Commands run as `handler(cmd, deps)` (`ports.CartDeps`, listed in `dispatch.COMMAND_HANDLERS`); the
two reads (`get`, `checkout_snapshot`) take their arguments.

Errors leave here with the codes of the operation's own enum (`domain.errors`), re-coded by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from enum import Enum

from mercato.cart.domain.commands import (
    AddCartLines,
    ClearCart,
    CreateCart,
    MergeCartOnLogin,
    RemoveBoughtLines,
    RemoveCartLines,
    UpdateCartLines,
)
from mercato.cart.domain.errors import (
    CartCheckoutErrorCode,
    CartCreateErrorCode,
    CartLinesAddErrorCode,
    CartLinesRemoveErrorCode,
    CartLinesUpdateErrorCode,
    CartMergeErrorCode,
    CartProblem,
    CartQueryErrorCode,
)
from mercato.cart.domain.model import (
    Cart,
    CartNotFound,
    LineChanges,
    LineNotFound,
    WriteRefused,
    parse_lines,
    parse_skus,
    reject,
)
from mercato.cart.domain.pricing import CartSnapshot, CartView, CatalogEntry, price, snapshot
from mercato.cart.service_layer.ports import CartDeps
from mercato.platform.auth import Principal
from mercato.platform.errors import ClientError, recode
from mercato.platform.types import Money
from mercato.platform.validation import Checks


@contextmanager
def coded(codes: type[Enum]) -> Iterator[None]:
    """Give every refusal raised inside the codes of `codes` (the operation's enum)."""
    try:
        yield
    except ClientError as exc:
        raise recode(exc, codes) from None


def _user(principal: Principal | None) -> uuid.UUID | None:
    return principal.user_id if principal is not None else None


def _at(refused: WriteRefused, changes: LineChanges) -> ClientError:
    """A refusal of the store's atomic re-check, pointed at the request line it concerns."""
    sku = refused.sku
    if refused.problem is CartProblem.LINE_NOT_FOUND and sku is not None:
        return LineNotFound(sku, changes.field(sku))
    field = changes.field(sku, "quantity") if sku is not None and sku in changes.positions else "lines"
    return ClientError(
        "the cart changed meanwhile and this would exceed its limits", code=refused.problem, field=field
    )


async def create_cart(cmd: CreateCart, deps: CartDeps) -> Cart:
    """A new cart; for a signed-in customer who has one already, that one (one cart each)."""
    with coded(CartCreateErrorCode):
        return await deps.store.create(Cart.new(_user(cmd.owner), deps.clock()))


async def get(deps: CartDeps, cart_id: uuid.UUID, principal: Principal | None) -> CartView:
    with coded(CartQueryErrorCode):
        return await _price(deps, await _reachable(deps, cart_id, principal))


async def add_lines(cmd: AddCartLines, deps: CartDeps) -> CartView:
    with coded(CartLinesAddErrorCode):
        changes = parse_lines(cmd.lines, deps.limits, additive=True)
        cart = await _reachable(deps, cmd.cart_id, cmd.principal)
        # One batch for the SKUs already in the cart and the new ones: it both vets the new
        # SKUs and prices the result, so the write costs no second catalog round.
        entries = await _entries(deps, [*cart.lines, *changes.quantities])
        _check_purchasable(cart, changes, entries)
        cart.check_additions(changes, deps.limits)
        try:
            updated = await deps.store.add(
                cmd.cart_id, _user(cmd.principal), changes.quantities, deps.limits, deps.clock()
            )
        except WriteRefused as refused:
            raise _at(refused, changes) from None
        return await _price(deps, updated, entries)


async def update_lines(cmd: UpdateCartLines, deps: CartDeps) -> CartView:
    """Set the quantity of lines already in the cart (use `remove_lines` to drop one)."""
    with coded(CartLinesUpdateErrorCode):
        changes = parse_lines(cmd.lines, deps.limits, additive=False)
        try:
            updated = await deps.store.set_quantities(
                cmd.cart_id, _user(cmd.principal), changes.quantities, deps.clock()
            )
        except WriteRefused as refused:
            raise _at(refused, changes) from None
        return await _price(deps, updated)


async def remove_lines(cmd: RemoveCartLines, deps: CartDeps) -> CartView:
    with coded(CartLinesRemoveErrorCode):
        wanted = parse_skus(cmd.skus, deps.limits)
        removed = await deps.store.remove(cmd.cart_id, _user(cmd.principal), wanted, deps.clock())
        return await _price(deps, removed)


async def merge_on_login(cmd: MergeCartOnLogin, deps: CartDeps) -> Cart:
    """Fold the cart a shopper filled before signing in into their own: quantities summed and
    capped at the maximum, lines beyond the maximum count dropped, the anonymous cart deleted.
    With no cart of their own, the anonymous cart becomes theirs (same id)."""
    with coded(CartMergeErrorCode):
        return await deps.store.merge(cmd.anonymous_cart_id, cmd.principal.user_id, deps.limits, deps.clock())


async def checkout_snapshot(deps: CartDeps, cart_id: uuid.UUID, principal: Principal | None) -> CartSnapshot:
    """The cart priced now, refused unless every line can be bought: the order saga's input."""
    with coded(CartCheckoutErrorCode):
        view = await _price(deps, await _reachable(deps, cart_id, principal))
        return snapshot(view, deps.clock())


async def clear(cmd: ClearCart, deps: CartDeps) -> None:
    """Empty a cart once its order is placed. Internal (no caller check); idempotent."""
    await deps.store.clear(cmd.cart_id, deps.clock())


async def remove_bought(cmd: RemoveBoughtLines, deps: CartDeps) -> bool:
    """An order checked out from this cart was confirmed: what it bought leaves the cart, once
    (a redelivered confirmation changes nothing; lines added since stay). Internal."""
    return await deps.store.remove_bought(cmd.cart_id, cmd.order_id, cmd.lines, deps.clock())


async def _reachable(deps: CartDeps, cart_id: uuid.UUID, principal: Principal | None) -> Cart:
    cart = await deps.store.load(cart_id)
    if cart is None or not cart.reachable_by(_user(principal)):
        raise CartNotFound()
    return cart


async def _price(deps: CartDeps, cart: Cart, known: dict[str, CatalogEntry] | None = None) -> CartView:
    entries = dict(known or {})
    # Only a line added concurrently since `known` was read needs another catalog round.
    missing = [sku for sku in cart.lines if sku not in entries]
    if missing:
        entries.update(await _entries(deps, missing))
    return price(cart, entries, deps.default_currency)


async def _entries(deps: CartDeps, skus: Collection[str]) -> dict[str, CatalogEntry]:
    """Current catalog data of `skus`: one catalog call (one statement there), whatever their
    number (never one call per line)."""
    if not skus:
        return {}
    prices = await deps.catalog.sku_prices(list(dict.fromkeys(skus)))
    return {
        sku: CatalogEntry(
            sku=sku,
            variant_id=p.variant_id,
            product_id=p.product_id,
            unit_price=Money(p.price_amount, p.currency),
            published=p.product_name is not None,
            product_name=p.product_name,
        )
        for sku, p in prices.items()
    }


def _check_purchasable(cart: Cart, changes: LineChanges, entries: dict[str, CatalogEntry]) -> None:
    checks = Checks()
    currency = next(
        (entries[s].unit_price.currency for s in cart.lines if s in entries and entries[s].published),
        None,
    )
    for sku in changes.quantities:
        field = changes.field(sku)
        entry = entries.get(sku)
        if entry is None:
            checks.add(field, CartProblem.UNKNOWN_SKU, f"there is no product with SKU {sku}")
        elif not entry.published:
            checks.add(field, CartProblem.NOT_PURCHASABLE, f"{sku} is not for sale")
        elif currency is not None and entry.unit_price.currency != currency:
            checks.add(
                field, CartProblem.CURRENCY_MISMATCH, f"{sku} is priced in another currency than the cart"
            )
        else:
            currency = entry.unit_price.currency
    reject(checks)
