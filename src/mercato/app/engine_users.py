"""The engine users each component connects as (least privilege, docs/security.md "Engine accounts").

PostgreSQL roles come from the contexts' own database URLs (`contexts.context_roles`, made by
`mercato migrate`). NATS users come from what each component does on the broker, below; `mercato
engines nats-config` prints them for nats-server, and deploy/compose/nats-auth.conf is that output.
"""

from __future__ import annotations

from mercato.app.components import CONTEXTS
from mercato.platform.nats_auth import (
    NatsPermissions,
    NatsWiring,
    authorization_config,
    merged,
    nats_permissions,
)

# Per component: does its outbox publish its context's events, and whose events do its consumers and
# listeners read (tests/integration/test_engine_users.py checks this against the components' wiring).
NATS_WIRING: dict[str, NatsWiring] = {
    "catalog": NatsWiring(publishes=True, consumes=("catalog", "inventory")),
    "inventory": NatsWiring(publishes=True, consumes=("orders",)),
    "cart": NatsWiring(publishes=False, consumes=("orders",)),
    "customers": NatsWiring(publishes=True),
    "payments": NatsWiring(publishes=True, consumes=("orders",)),
    "orders": NatsWiring(publishes=True, consumes=("inventory", "payments")),
    "search": NatsWiring(publishes=False, consumes=("catalog", "inventory", "orders")),
}
# The single process (every context in one process, one connection) and the migration job.
SHARED_USER = "mercato"


def nats_users(namespace: str) -> dict[str, NatsPermissions]:
    """Every NATS user of an installation: one per context, plus the shared one of the single process."""
    users = {c: nats_permissions(namespace, c, NATS_WIRING[c]) for c in CONTEXTS}
    users[SHARED_USER] = merged(users.values())
    return users


def nats_config(namespace: str, passwords: dict[str, str] | None = None) -> str:
    """The `authorization` block for nats-server. Without `passwords`, each user's password is the
    variable `$NATS_<USER>_PASSWORD`, which nats-server reads from its environment."""
    given = passwords or {}
    users = {
        user: (given.get(user, f"$NATS_{user.upper()}_PASSWORD"), perms)
        for user, perms in nats_users(namespace).items()
    }
    header = (
        f"# NATS users of the Mercato installation in namespace {namespace!r}: "
        f"`mercato engines nats-config --namespace {namespace}` (do not edit by hand).\n"
    )
    return header + authorization_config(users)
