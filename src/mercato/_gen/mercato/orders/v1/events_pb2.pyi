from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StockLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class OrderPlaced(_message.Message):
    __slots__ = ("order_id", "customer_id", "total_amount", "currency")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    total_amount: int
    currency: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., total_amount: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class OrderConfirmed(_message.Message):
    __slots__ = ("order_id", "customer_id", "cart_id", "lines")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    cart_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ...) -> None: ...

class OrderRejected(_message.Message):
    __slots__ = ("order_id", "customer_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class OrderCancelled(_message.Message):
    __slots__ = ("order_id", "customer_id", "actor", "reason", "refunded_total", "currency")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    actor: str
    reason: str
    refunded_total: int
    currency: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., refunded_total: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class OrderFulfilled(_message.Message):
    __slots__ = ("order_id", "customer_id", "tracking_number")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    tracking_number: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., tracking_number: _Optional[str] = ...) -> None: ...

class OrderRefunded(_message.Message):
    __slots__ = ("order_id", "customer_id", "amount", "refunded_total", "currency", "status")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    customer_id: str
    amount: int
    refunded_total: int
    currency: str
    status: str
    def __init__(self, order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., amount: _Optional[int] = ..., refunded_total: _Optional[int] = ..., currency: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ReserveStockRequested(_message.Message):
    __slots__ = ("order_id", "reference", "lines", "ttl_seconds")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reference: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    ttl_seconds: int
    def __init__(self, order_id: _Optional[str] = ..., reference: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class AuthorizePaymentRequested(_message.Message):
    __slots__ = ("order_id", "amount", "currency", "payment_method", "idempotency_key")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    amount: int
    currency: str
    payment_method: str
    idempotency_key: str
    def __init__(self, order_id: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., payment_method: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CapturePaymentRequested(_message.Message):
    __slots__ = ("order_id", "intent_id", "idempotency_key")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    intent_id: str
    idempotency_key: str
    def __init__(self, order_id: _Optional[str] = ..., intent_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CommitStockRequested(_message.Message):
    __slots__ = ("order_id", "reference", "reservation_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reference: str
    reservation_id: str
    def __init__(self, order_id: _Optional[str] = ..., reference: _Optional[str] = ..., reservation_id: _Optional[str] = ...) -> None: ...

class ReleaseStockRequested(_message.Message):
    __slots__ = ("order_id", "reference", "reservation_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reference: str
    reservation_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., reference: _Optional[str] = ..., reservation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RestockStockRequested(_message.Message):
    __slots__ = ("order_id", "reference", "reservation_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reference: str
    reservation_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., reference: _Optional[str] = ..., reservation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VoidPaymentRequested(_message.Message):
    __slots__ = ("order_id", "intent_id", "idempotency_key")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    intent_id: str
    idempotency_key: str
    def __init__(self, order_id: _Optional[str] = ..., intent_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RefundPaymentRequested(_message.Message):
    __slots__ = ("order_id", "intent_id", "amount", "currency", "idempotency_key", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    intent_id: str
    amount: int
    currency: str
    idempotency_key: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., intent_id: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
