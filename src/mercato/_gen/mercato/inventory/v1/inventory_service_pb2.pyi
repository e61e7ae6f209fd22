from mercato._gen.mercato.inventory.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReserveStockRequest(_message.Message):
    __slots__ = ("reference", "lines", "ttl_seconds")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.ReservationLine]
    ttl_seconds: int
    def __init__(self, reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.ReservationLine, _Mapping]]] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class ReserveStockResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: _inventory_pb2.Reservation
    def __init__(self, reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class CommitReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class CommitReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: _inventory_pb2.Reservation
    def __init__(self, reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ("reservation_id", "reason")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reason: str
    def __init__(self, reservation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: _inventory_pb2.Reservation
    def __init__(self, reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class RestockReservationRequest(_message.Message):
    __slots__ = ("reservation_id", "reason")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reason: str
    def __init__(self, reservation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RestockReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: _inventory_pb2.Reservation
    def __init__(self, reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class AdjustStockRequest(_message.Message):
    __slots__ = ("sku", "warehouse_id", "reason", "actor", "delta", "set_on_hand", "note", "idempotency_key")
    SKU_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    SET_ON_HAND_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    warehouse_id: str
    reason: _inventory_pb2.AdjustmentReason
    actor: str
    delta: int
    set_on_hand: int
    note: str
    idempotency_key: str
    def __init__(self, sku: _Optional[str] = ..., warehouse_id: _Optional[str] = ..., reason: _Optional[_Union[_inventory_pb2.AdjustmentReason, str]] = ..., actor: _Optional[str] = ..., delta: _Optional[int] = ..., set_on_hand: _Optional[int] = ..., note: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class AdjustStockResponse(_message.Message):
    __slots__ = ("adjustment",)
    ADJUSTMENT_FIELD_NUMBER: _ClassVar[int]
    adjustment: _inventory_pb2.Adjustment
    def __init__(self, adjustment: _Optional[_Union[_inventory_pb2.Adjustment, _Mapping]] = ...) -> None: ...

class CreateWarehouseRequest(_message.Message):
    __slots__ = ("code", "name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateWarehouseResponse(_message.Message):
    __slots__ = ("warehouse",)
    WAREHOUSE_FIELD_NUMBER: _ClassVar[int]
    warehouse: _inventory_pb2.Warehouse
    def __init__(self, warehouse: _Optional[_Union[_inventory_pb2.Warehouse, _Mapping]] = ...) -> None: ...

class GetAvailabilityRequest(_message.Message):
    __slots__ = ("skus",)
    SKUS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skus: _Optional[_Iterable[str]] = ...) -> None: ...

class GetAvailabilityResponse(_message.Message):
    __slots__ = ("available",)
    class AvailableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    available: _containers.ScalarMap[str, int]
    def __init__(self, available: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ListWarehousesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWarehousesResponse(_message.Message):
    __slots__ = ("warehouses",)
    WAREHOUSES_FIELD_NUMBER: _ClassVar[int]
    warehouses: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.Warehouse]
    def __init__(self, warehouses: _Optional[_Iterable[_Union[_inventory_pb2.Warehouse, _Mapping]]] = ...) -> None: ...

class GetStockLevelsRequest(_message.Message):
    __slots__ = ("sku",)
    SKU_FIELD_NUMBER: _ClassVar[int]
    sku: str
    def __init__(self, sku: _Optional[str] = ...) -> None: ...

class GetStockLevelsResponse(_message.Message):
    __slots__ = ("stock_levels",)
    STOCK_LEVELS_FIELD_NUMBER: _ClassVar[int]
    stock_levels: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.StockLevel]
    def __init__(self, stock_levels: _Optional[_Iterable[_Union[_inventory_pb2.StockLevel, _Mapping]]] = ...) -> None: ...
