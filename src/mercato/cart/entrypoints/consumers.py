"""The cart's reaction to the orders' events: a confirmed order's lines leave the cart it came from.

The orders publish `orders.order_confirmed` with the cart id and the bought lines (a published
contract, docs/events.md: the cart imports nothing of the orders). Emptying the cart here rather
than in the checkout request means it happens whatever the request saw: a confirmation after the
request stopped waiting, a retried request, a gateway that died meanwhile.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from mercato.cart.domain.commands import RemoveBoughtLines
from mercato.platform.events import Envelope
from mercato.platform.listener import Listening

log = logging.getLogger(__name__)

ORDER_CONFIRMED = "orders.order_confirmed"


class BoughtLines(Protocol):
    """What the consumer needs of the cart: `CartService.handle`."""

    async def handle(self, cmd: RemoveBoughtLines) -> bool: ...


def order_events(cart: BoughtLines) -> Listening:
    async def order_confirmed(envelope: Envelope) -> None:
        p = envelope.payload
        try:
            cart_id = uuid.UUID(str(p.get("cart_id") or ""))
            order_id = uuid.UUID(str(p["order_id"]))
            lines = [(str(line["sku"]), int(line["quantity"])) for line in p.get("lines") or ()]
        except (KeyError, TypeError, ValueError):
            # An order placed from no cart (or by an older orders version): nothing to take out.
            log.debug("order_confirmed %s names no cart", envelope.id)
            return
        await cart.handle(RemoveBoughtLines(cart_id=cart_id, order_id=order_id, lines=lines))

    return Listening(
        owner="cart", name="orders", source_context="orders", handlers={ORDER_CONFIRMED: order_confirmed}
    )
