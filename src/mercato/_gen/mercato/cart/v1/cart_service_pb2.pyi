from mercato._gen.mercato.cart.v1 import cart_pb2 as _cart_pb2
from mercato._gen.mercato.common.v1 import principal_pb2 as _principal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateCartRequest(_message.Message):
    __slots__ = ("owner",)
    OWNER_FIELD_NUMBER: _ClassVar[int]
    owner: _principal_pb2.Principal
    def __init__(self, owner: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class CreateCartResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: _cart_pb2.Cart
    def __init__(self, cart: _Optional[_Union[_cart_pb2.Cart, _Mapping]] = ...) -> None: ...

class GetCartRequest(_message.Message):
    __slots__ = ("cart_id", "principal")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    principal: _principal_pb2.Principal
    def __init__(self, cart_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class GetCartResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: _cart_pb2.CartView
    def __init__(self, cart: _Optional[_Union[_cart_pb2.CartView, _Mapping]] = ...) -> None: ...

class AddCartLinesRequest(_message.Message):
    __slots__ = ("cart_id", "principal", "lines")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    principal: _principal_pb2.Principal
    lines: _containers.RepeatedCompositeFieldContainer[_cart_pb2.CartLine]
    def __init__(self, cart_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[_cart_pb2.CartLine, _Mapping]]] = ...) -> None: ...

class AddCartLinesResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: _cart_pb2.CartView
    def __init__(self, cart: _Optional[_Union[_cart_pb2.CartView, _Mapping]] = ...) -> None: ...

class UpdateCartLinesRequest(_message.Message):
    __slots__ = ("cart_id", "principal", "lines")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    principal: _principal_pb2.Principal
    lines: _containers.RepeatedCompositeFieldContainer[_cart_pb2.CartLine]
    def __init__(self, cart_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[_cart_pb2.CartLine, _Mapping]]] = ...) -> None: ...

class UpdateCartLinesResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: _cart_pb2.CartView
    def __init__(self, cart: _Optional[_Union[_cart_pb2.CartView, _Mapping]] = ...) -> None: ...

class RemoveCartLinesRequest(_message.Message):
    __slots__ = ("cart_id", "principal", "skus")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SKUS_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    principal: _principal_pb2.Principal
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cart_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ..., skus: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveCartLinesResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: _cart_pb2.CartView
    def __init__(self, cart: _Optional[_Union[_cart_pb2.CartView, _Mapping]] = ...) -> None: ...

class MergeCartOnLoginRequest(_message.Message):
    __slots__ = ("anonymous_cart_id", "principal")
    ANONYMOUS_CART_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    anonymous_cart_id: str
    principal: _principal_pb2.Principal
    def __init__(self, anonymous_cart_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class MergeCartOnLoginResponse(_message.Message):
    __slots__ = ("cart",)
    CART_FIELD_NUMBER: _ClassVar[int]
    cart: _cart_pb2.Cart
    def __init__(self, cart: _Optional[_Union[_cart_pb2.Cart, _Mapping]] = ...) -> None: ...

class GetCheckoutSnapshotRequest(_message.Message):
    __slots__ = ("cart_id", "principal")
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    principal: _principal_pb2.Principal
    def __init__(self, cart_id: _Optional[str] = ..., principal: _Optional[_Union[_principal_pb2.Principal, _Mapping]] = ...) -> None: ...

class GetCheckoutSnapshotResponse(_message.Message):
    __slots__ = ("snapshot",)
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    snapshot: _cart_pb2.CartSnapshot
    def __init__(self, snapshot: _Optional[_Union[_cart_pb2.CartSnapshot, _Mapping]] = ...) -> None: ...

class ClearCartRequest(_message.Message):
    __slots__ = ("cart_id",)
    CART_ID_FIELD_NUMBER: _ClassVar[int]
    cart_id: str
    def __init__(self, cart_id: _Optional[str] = ...) -> None: ...

class ClearCartResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
