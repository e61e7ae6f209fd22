from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WarehouseCreated(_message.Message):
    __slots__ = ("code", "warehouse_name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_NAME_FIELD_NUMBER: _ClassVar[int]
    code: str
    warehouse_name: str
    def __init__(self, code: _Optional[str] = ..., warehouse_name: _Optional[str] = ...) -> None: ...

class StockAdjusted(_message.Message):
    __slots__ = ("adjustment_id", "sku", "warehouse_id", "delta", "on_hand_after", "reason", "actor")
    ADJUSTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    adjustment_id: str
    sku: str
    warehouse_id: str
    delta: int
    on_hand_after: int
    reason: str
    actor: str
    def __init__(self, adjustment_id: _Optional[str] = ..., sku: _Optional[str] = ..., warehouse_id: _Optional[str] = ..., delta: _Optional[int] = ..., on_hand_after: _Optional[int] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class StockLevelChanged(_message.Message):
    __slots__ = ("sku", "available", "version")
    SKU_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    sku: str
    available: int
    version: int
    def __init__(self, sku: _Optional[str] = ..., available: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class AvailabilityFlipped(_message.Message):
    __slots__ = ("sku", "in_stock", "available", "version")
    SKU_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    sku: str
    in_stock: bool
    available: int
    version: int
    def __init__(self, sku: _Optional[str] = ..., in_stock: _Optional[bool] = ..., available: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class ReservationEventLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ReservationEventAllocation(_message.Message):
    __slots__ = ("sku", "warehouse_id", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    warehouse_id: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., warehouse_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ReservationCreated(_message.Message):
    __slots__ = ("reservation_id", "reference", "lines", "allocations", "expires_at")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[ReservationEventLine]
    allocations: _containers.RepeatedCompositeFieldContainer[ReservationEventAllocation]
    expires_at: str
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReservationEventLine, _Mapping]]] = ..., allocations: _Optional[_Iterable[_Union[ReservationEventAllocation, _Mapping]]] = ..., expires_at: _Optional[str] = ...) -> None: ...

class ReservationCommitted(_message.Message):
    __slots__ = ("reservation_id", "reference", "lines")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[ReservationEventLine]
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReservationEventLine, _Mapping]]] = ...) -> None: ...

class ReservationReleased(_message.Message):
    __slots__ = ("reservation_id", "reference", "reason", "status", "lines")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    reason: str
    status: str
    lines: _containers.RepeatedCompositeFieldContainer[ReservationEventLine]
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., reason: _Optional[str] = ..., status: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReservationEventLine, _Mapping]]] = ...) -> None: ...

class ReservationRestocked(_message.Message):
    __slots__ = ("reservation_id", "reference", "reason", "lines")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reference: str
    reason: str
    lines: _containers.RepeatedCompositeFieldContainer[ReservationEventLine]
    def __init__(self, reservation_id: _Optional[str] = ..., reference: _Optional[str] = ..., reason: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReservationEventLine, _Mapping]]] = ...) -> None: ...

class StockReservationRejected(_message.Message):
    __slots__ = ("reference", "reason", "skus")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SKUS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    reason: str
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reference: _Optional[str] = ..., reason: _Optional[str] = ..., skus: _Optional[_Iterable[str]] = ...) -> None: ...
