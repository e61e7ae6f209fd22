"""Permission checks for resolvers: who the caller is comes from the request's access token."""

from __future__ import annotations

from typing import Any

import strawberry

from mercato.gateway.client_ip import client_ip, parse_trusted
from mercato.platform.auth import Permission, Principal, Unauthenticated, require_permission


def staff(info: strawberry.Info, permission: Permission) -> Principal:
    """The caller, when it holds `permission`; else a typed UNAUTHENTICATED or PERMISSION_DENIED."""
    context = info.context
    if context.principal is None and context.auth_error is not None:
        raise Unauthenticated(context.auth_error)
    return require_permission(context.principal, permission)


def request_client_ip(context: Any) -> str | None:
    """The client address of the request behind a resolver's context (see `gateway.client_ip`)."""
    request: Any = getattr(context, "request", None)
    host = getattr(getattr(request, "client", None), "host", None)
    if not isinstance(host, str) or not host:
        return None
    trusted = parse_trusted(context.settings.trusted_proxies)
    headers = getattr(request, "headers", None)
    forwarded = headers.getlist("x-forwarded-for") if trusted and headers is not None else []
    return client_ip(host, forwarded, trusted)
