"""Business-rule violations of the inventory, raised by the model and re-coded per mutation."""

from __future__ import annotations

from collections.abc import Iterable

from mercato.platform.errors import Conflict, NotFound


class DuplicateWarehouseCode(Conflict):
    def __init__(self) -> None:
        super().__init__("a warehouse with this code already exists", code="DUPLICATE_CODE", field="code")


class WarehouseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("warehouse not found", code="WAREHOUSE_NOT_FOUND", field="warehouseId")


class InsufficientStock(Conflict):
    """Not enough units can be sold; `skus` names every SKU that fell short (sorted)."""

    def __init__(self, skus: Iterable[str], *, field: str = "lines") -> None:
        self.skus = sorted(set(skus))
        super().__init__(
            f"insufficient stock for {', '.join(self.skus)}", code="INSUFFICIENT_STOCK", field=field
        )


class BelowReserved(Conflict):
    def __init__(self, sku: str, reserved: int, field: str) -> None:
        self.skus = [sku]
        super().__init__(
            f"{sku}: on hand cannot drop below the {reserved} units reserved",
            code="BELOW_RESERVED",
            field=field,
        )


class IdempotencyKeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "this idempotency key was already used for a different adjustment",
            code="IDEMPOTENCY_KEY_REUSED",
            field="idempotencyKey",
        )


class ReservationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("reservation not found", code="RESERVATION_NOT_FOUND", field="reservationId")


class ReservationNotActive(Conflict):
    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__(f"reservation is {status}", code="RESERVATION_NOT_ACTIVE", field="reservationId")
