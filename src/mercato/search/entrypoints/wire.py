"""The search filter on the wire, both ways: the request's filter and the filter read from the words
travel as the same message, and both the servicer and the gRPC client translate it.

A cursor is bound to the request's filter exactly (`SearchRequest.fingerprint`), so the filter must
come back equal to the one sent: unset fields stay unset, values keep their types.
"""

from __future__ import annotations

from mercato._gen.mercato.search.v1 import search_pb2
from mercato.platform.grpc.convert import opt_str, parse_uuid
from mercato.search.service_layer.requests import SearchFilter, SearchMode


def filter_message(f: SearchFilter) -> search_pb2.SearchFilter:
    return search_pb2.SearchFilter(
        category_id=opt_str(f.category_id),
        price_min=f.price_min,
        price_max=f.price_max,
        in_stock=f.in_stock,
        attributes=[search_pb2.AttributeFilter(name=n, values=list(vs)) for n, vs in f.attributes],
    )


def search_filter(message: search_pb2.SearchFilter, field: str = "filter") -> SearchFilter:
    return SearchFilter(
        category_id=parse_uuid(message.category_id, f"{field}.categoryId")
        if message.HasField("category_id")
        else None,
        price_min=message.price_min if message.HasField("price_min") else None,
        price_max=message.price_max if message.HasField("price_max") else None,
        in_stock=message.in_stock if message.HasField("in_stock") else None,
        attributes=tuple((a.name, tuple(a.values)) for a in message.attributes),
    )


def mode_value(mode: SearchMode) -> search_pb2.SearchMode:
    value: search_pb2.SearchMode = search_pb2.SearchMode.Value(f"SEARCH_MODE_{mode.name}")
    return value


def search_mode(value: search_pb2.SearchMode) -> SearchMode:
    """UNSPECIFIED (a caller that set no mode) reads as HYBRID, the port's default."""
    name = str(search_pb2.SearchMode.Name(value)).removeprefix("SEARCH_MODE_")
    return SearchMode[name] if name in SearchMode.__members__ else SearchMode.HYBRID
