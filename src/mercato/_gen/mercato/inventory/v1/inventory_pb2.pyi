import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AdjustmentReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADJUSTMENT_REASON_UNSPECIFIED: _ClassVar[AdjustmentReason]
    ADJUSTMENT_REASON_RECEIVED: _ClassVar[AdjustmentReason]
    ADJUSTMENT_REASON_COUNTED: _ClassVar[AdjustmentReason]
    ADJUSTMENT_REASON_DAMAGED: _ClassVar[AdjustmentReason]
    ADJUSTMENT_REASON_RETURNED: _ClassVar[AdjustmentReason]
    ADJUSTMENT_REASON_CORRECTION: _ClassVar[AdjustmentReason]

class ReservationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATUS_UNSPECIFIED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_ACTIVE: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_COMMITTED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_RELEASED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_EXPIRED: _ClassVar[ReservationStatus]
ADJUSTMENT_REASON_UNSPECIFIED: AdjustmentReason
ADJUSTMENT_REASON_RECEIVED: AdjustmentReason
ADJUSTMENT_REASON_COUNTED: AdjustmentReason
ADJUSTMENT_REASON_DAMAGED: AdjustmentReason
ADJUSTMENT_REASON_RETURNED: AdjustmentReason
ADJUSTMENT_REASON_CORRECTION: AdjustmentReason
RESERVATION_STATUS_UNSPECIFIED: ReservationStatus
RESERVATION_STATUS_ACTIVE: ReservationStatus
RESERVATION_STATUS_COMMITTED: ReservationStatus
RESERVATION_STATUS_RELEASED: ReservationStatus
RESERVATION_STATUS_EXPIRED: ReservationStatus

class Warehouse(_message.Message):
    __slots__ = ("id", "code", "name", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: str
    name: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Adjustment(_message.Message):
    __slots__ = ("id", "sku", "warehouse_id", "delta", "on_hand_after", "reason", "note", "actor", "idempotency_key", "set_on_hand")
    ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SET_ON_HAND_FIELD_NUMBER: _ClassVar[int]
    id: str
    sku: str
    warehouse_id: str
    delta: int
    on_hand_after: int
    reason: AdjustmentReason
    note: str
    actor: str
    idempotency_key: str
    set_on_hand: int
    def __init__(self, id: _Optional[str] = ..., sku: _Optional[str] = ..., warehouse_id: _Optional[str] = ..., delta: _Optional[int] = ..., on_hand_after: _Optional[int] = ..., reason: _Optional[_Union[AdjustmentReason, str]] = ..., note: _Optional[str] = ..., actor: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., set_on_hand: _Optional[int] = ...) -> None: ...

class ReservationLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("sku", "warehouse_id", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    warehouse_id: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., warehouse_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("id", "reference", "status", "expires_at", "allocations", "release_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reference: str
    status: ReservationStatus
    expires_at: _timestamp_pb2.Timestamp
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    release_reason: str
    def __init__(self, id: _Optional[str] = ..., reference: _Optional[str] = ..., status: _Optional[_Union[ReservationStatus, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., release_reason: _Optional[str] = ...) -> None: ...

class StockLevel(_message.Message):
    __slots__ = ("sku", "warehouse_id", "warehouse_code", "on_hand", "reserved", "available", "version")
    SKU_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_ID_FIELD_NUMBER: _ClassVar[int]
    WAREHOUSE_CODE_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    sku: str
    warehouse_id: str
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int
    version: int
    def __init__(self, sku: _Optional[str] = ..., warehouse_id: _Optional[str] = ..., warehouse_code: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...
