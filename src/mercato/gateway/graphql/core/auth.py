"""Permission checks for resolvers: who the caller is comes from the request's access token."""

from __future__ import annotations

import strawberry

from mercato.platform.auth import Permission, Principal, Unauthenticated, require_permission


def staff(info: strawberry.Info, permission: Permission) -> Principal:
    """The caller, when it holds `permission`; else a typed UNAUTHENTICATED or PERMISSION_DENIED."""
    context = info.context
    if context.principal is None and context.auth_error is not None:
        raise Unauthenticated(context.auth_error)
    return require_permission(context.principal, permission)
