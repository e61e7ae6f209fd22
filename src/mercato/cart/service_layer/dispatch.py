"""Every cart use case, one line each: the command class and the handler that runs it.

All handlers have one shape, `handler(cmd, deps)` (`ports.CartDeps`); `CartService.handle` looks the
command's class up here. The reads (`carts.get`, `carts.checkout_snapshot`) are no commands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mercato.cart.domain import commands
from mercato.cart.service_layer import carts
from mercato.cart.service_layer.ports import CartDeps

COMMAND_HANDLERS: dict[type[Any], Callable[[Any, CartDeps], Awaitable[Any]]] = {
    commands.CreateCart: carts.create_cart,
    commands.AddCartLines: carts.add_lines,
    commands.UpdateCartLines: carts.update_lines,
    commands.RemoveCartLines: carts.remove_lines,
    commands.MergeCartOnLogin: carts.merge_on_login,
    commands.ClearCart: carts.clear,
    commands.RemoveBoughtLines: carts.remove_bought,
}
