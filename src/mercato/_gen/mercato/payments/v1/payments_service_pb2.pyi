from mercato._gen.mercato.common.v1 import money_pb2 as _money_pb2
from mercato._gen.mercato.payments.v1 import payments_pb2 as _payments_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VaultPaymentMethodRequest(_message.Message):
    __slots__ = ("customer_id", "payment_token", "idempotency_key")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    payment_token: str
    idempotency_key: str
    def __init__(self, customer_id: _Optional[str] = ..., payment_token: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class VaultPaymentMethodResponse(_message.Message):
    __slots__ = ("payment_method",)
    PAYMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    payment_method: str
    def __init__(self, payment_method: _Optional[str] = ...) -> None: ...

class AuthorizePaymentRequest(_message.Message):
    __slots__ = ("order_reference", "amount", "payment_token", "idempotency_key")
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    order_reference: str
    amount: _money_pb2.Money
    payment_token: str
    idempotency_key: str
    def __init__(self, order_reference: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., payment_token: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class AuthorizePaymentResponse(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: _payments_pb2.PaymentIntent
    def __init__(self, intent: _Optional[_Union[_payments_pb2.PaymentIntent, _Mapping]] = ...) -> None: ...

class CapturePaymentRequest(_message.Message):
    __slots__ = ("intent_id", "idempotency_key")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    idempotency_key: str
    def __init__(self, intent_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class CapturePaymentResponse(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: _payments_pb2.PaymentIntent
    def __init__(self, intent: _Optional[_Union[_payments_pb2.PaymentIntent, _Mapping]] = ...) -> None: ...

class VoidPaymentRequest(_message.Message):
    __slots__ = ("intent_id", "idempotency_key")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    idempotency_key: str
    def __init__(self, intent_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class VoidPaymentResponse(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: _payments_pb2.PaymentIntent
    def __init__(self, intent: _Optional[_Union[_payments_pb2.PaymentIntent, _Mapping]] = ...) -> None: ...

class RefundPaymentRequest(_message.Message):
    __slots__ = ("intent_id", "amount", "idempotency_key", "reason")
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    amount: _money_pb2.Money
    idempotency_key: str
    reason: str
    def __init__(self, intent_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RefundPaymentResponse(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: _payments_pb2.PaymentIntent
    def __init__(self, intent: _Optional[_Union[_payments_pb2.PaymentIntent, _Mapping]] = ...) -> None: ...

class GetIntentRequest(_message.Message):
    __slots__ = ("intent_id",)
    INTENT_ID_FIELD_NUMBER: _ClassVar[int]
    intent_id: str
    def __init__(self, intent_id: _Optional[str] = ...) -> None: ...

class GetIntentResponse(_message.Message):
    __slots__ = ("intent",)
    INTENT_FIELD_NUMBER: _ClassVar[int]
    intent: _payments_pb2.PaymentIntent
    def __init__(self, intent: _Optional[_Union[_payments_pb2.PaymentIntent, _Mapping]] = ...) -> None: ...

class ListIntentsForOrderRequest(_message.Message):
    __slots__ = ("order_reference",)
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    order_reference: str
    def __init__(self, order_reference: _Optional[str] = ...) -> None: ...

class ListIntentsForOrderResponse(_message.Message):
    __slots__ = ("intents",)
    INTENTS_FIELD_NUMBER: _ClassVar[int]
    intents: _containers.RepeatedCompositeFieldContainer[_payments_pb2.PaymentIntent]
    def __init__(self, intents: _Optional[_Iterable[_Union[_payments_pb2.PaymentIntent, _Mapping]]] = ...) -> None: ...

class ReconcileOrderRequest(_message.Message):
    __slots__ = ("order_reference",)
    ORDER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    order_reference: str
    def __init__(self, order_reference: _Optional[str] = ...) -> None: ...

class ReconcileOrderResponse(_message.Message):
    __slots__ = ("reconciliations",)
    RECONCILIATIONS_FIELD_NUMBER: _ClassVar[int]
    reconciliations: _containers.RepeatedCompositeFieldContainer[_payments_pb2.Reconciliation]
    def __init__(self, reconciliations: _Optional[_Iterable[_Union[_payments_pb2.Reconciliation, _Mapping]]] = ...) -> None: ...
