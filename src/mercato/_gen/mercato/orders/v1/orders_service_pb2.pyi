from google.protobuf import struct_pb2 as _struct_pb2
from mercato._gen.mercato.common.v1 import money_pb2 as _money_pb2
from mercato._gen.mercato.orders.v1 import order_pb2 as _order_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlaceOrderRequest(_message.Message):
    __slots__ = ("customer_id", "lines", "total", "shipping_address", "payment_method", "idempotency_key", "order_id", "cart_id", "wait_seconds")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[_order_pb2.OrderLine]
    total: _money_pb2.Money
    shipping_address: _struct_pb2.Struct
    payment_method: str
    idempotency_key: str
    order_id: str
    cart_id: str
    wait_seconds: float
    def __init__(self, customer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_order_pb2.OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., shipping_address: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., payment_method: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., order_id: _Optional[str] = ..., cart_id: _Optional[str] = ..., wait_seconds: _Optional[float] = ...) -> None: ...

class PlaceOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_pb2.Order, _Mapping]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_pb2.Order, _Mapping]] = ...) -> None: ...

class GetOrderStatusRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class GetOrderStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _order_pb2.OrderStatus
    def __init__(self, status: _Optional[_Union[_order_pb2.OrderStatus, str]] = ...) -> None: ...

class ListOrdersForCustomerRequest(_message.Message):
    __slots__ = ("customer_id", "first", "after")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    first: int
    after: str
    def __init__(self, customer_id: _Optional[str] = ..., first: _Optional[int] = ..., after: _Optional[str] = ...) -> None: ...

class ListOrdersForCustomerResponse(_message.Message):
    __slots__ = ("items", "end_cursor", "has_next_page")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    END_CURSOR_FIELD_NUMBER: _ClassVar[int]
    HAS_NEXT_PAGE_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[_order_pb2.Order]
    end_cursor: str
    has_next_page: bool
    def __init__(self, items: _Optional[_Iterable[_Union[_order_pb2.Order, _Mapping]]] = ..., end_cursor: _Optional[str] = ..., has_next_page: _Optional[bool] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("order_id", "actor", "reason", "customer_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    actor: str
    reason: str
    customer_id: str
    def __init__(self, order_id: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., customer_id: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FulfillOrderRequest(_message.Message):
    __slots__ = ("order_id", "tracking_number", "actor")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    tracking_number: str
    actor: str
    def __init__(self, order_id: _Optional[str] = ..., tracking_number: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class FulfillOrderResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RefundOrderRequest(_message.Message):
    __slots__ = ("order_id", "amount", "idempotency_key", "actor")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    amount: _money_pb2.Money
    idempotency_key: str
    actor: str
    def __init__(self, order_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class RefundOrderResponse(_message.Message):
    __slots__ = ("refund_sent",)
    REFUND_SENT_FIELD_NUMBER: _ClassVar[int]
    refund_sent: bool
    def __init__(self, refund_sent: _Optional[bool] = ...) -> None: ...
