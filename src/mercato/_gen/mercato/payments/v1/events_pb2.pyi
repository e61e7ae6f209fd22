from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentAuthorized(_message.Message):
    __slots__ = ("intent_id", "order_reference", "amount", "currency", "provider", "provider_reference")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    order_reference: str
    amount: int
    currency: str
    provider: str
    provider_reference: str
    def __init__(self, intent_id: _Optional[str] = ..., order_reference: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., provider: _Optional[str] = ..., provider_reference: _Optional[str] = ...) -> None: ...

class PaymentDeclined(_message.Message):
    __slots__ = ("intent_id", "order_reference", "amount", "currency", "decline_code")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DECLINE_CODE_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    order_reference: str
    amount: int
    currency: str
    decline_code: str
    def __init__(self, intent_id: _Optional[str] = ..., order_reference: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., decline_code: _Optional[str] = ...) -> None: ...

class PaymentCaptured(_message.Message):
    __slots__ = ("intent_id", "order_reference", "amount", "currency", "captured_total")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    order_reference: str
    amount: int
    currency: str
    captured_total: int
    def __init__(self, intent_id: _Optional[str] = ..., order_reference: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., captured_total: _Optional[int] = ...) -> None: ...

class PaymentVoided(_message.Message):
    __slots__ = ("intent_id", "order_reference", "amount", "currency")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    order_reference: str
    amount: int
    currency: str
    def __init__(self, intent_id: _Optional[str] = ..., order_reference: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class PaymentRefunded(_message.Message):
    __slots__ = ("intent_id", "order_reference", "amount", "currency", "refunded_total", "captured_total", "reason", "status")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    order_reference: str
    amount: int
    currency: str
    refunded_total: int
    captured_total: int
    reason: str
    status: str
    def __init__(self, intent_id: _Optional[str] = ..., order_reference: _Optional[str] = ..., amount: _Optional[int] = ..., currency: _Optional[str] = ..., refunded_total: _Optional[int] = ..., captured_total: _Optional[int] = ..., reason: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class PaymentOperationFailed(_message.Message):
    __slots__ = ("order_reference", "intent_id", "operation", "code", "message")
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    order_reference: str
    intent_id: str
    operation: str
    code: str
    message: str
    def __init__(self, order_reference: _Optional[str] = ..., intent_id: _Optional[str] = ..., operation: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
