"""Least privilege on NATS: one user per component, allowed its own subjects and what it consumes.

A component publishes events on `<namespace>.<context>.>` (its outbox relay) and consumes the streams of
the contexts it listens to through durable pull consumers. The users' permissions allow exactly that:

- publish: its own event subjects; the JetStream API calls on the streams it owns or reads (stream info
  and create: a consumer creates the stream it reads if it starts first) and on its consumers of the
  streams it reads (create, info, next message); the acknowledgements of those streams' messages;
- subscribe: `_INBOX.>` (replies and pulled messages arrive there) and its own subjects (the orders
  wake waiting checkouts on their own events).

So a compromised catalog cannot publish an order event, read the payments stream, or delete a stream.
`mercato engines nats-config` prints the `authorization` block for nats-server (deploy/compose uses it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mercato.platform.events import stream_name


@dataclass(frozen=True)
class NatsWiring:
    """What one component does on NATS: publishes its own context's events or not, and whose it reads."""

    publishes: bool
    consumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class NatsPermissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def nats_permissions(namespace: str, component: str, wiring: NatsWiring) -> NatsPermissions:
    own = f"{namespace}.{component}.>"
    streams = dict.fromkeys(([component] if wiring.publishes else []) + list(wiring.consumes))
    publish = [own] if wiring.publishes else []
    for context in streams:
        name = stream_name(namespace, context)
        publish += [f"$JS.API.STREAM.INFO.{name}", f"$JS.API.STREAM.CREATE.{name}"]
    for context in dict.fromkeys(wiring.consumes):
        name = stream_name(namespace, context)
        publish += [
            # Older and newer clients name the durable differently when creating it.
            f"$JS.API.CONSUMER.CREATE.{name}",
            f"$JS.API.CONSUMER.CREATE.{name}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{name}.>",
            f"$JS.API.CONSUMER.INFO.{name}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{name}.>",
            f"$JS.ACK.{name}.>",
        ]
    subscribe = ["_INBOX.>", *([own] if wiring.publishes else [])]
    return NatsPermissions(tuple(publish), tuple(subscribe))


def merged(permissions: Iterable[NatsPermissions]) -> NatsPermissions:
    """What one process hosting several components needs (the single process)."""
    publish: dict[str, None] = {}
    subscribe: dict[str, None] = {}
    for p in permissions:
        publish.update(dict.fromkeys(p.publish))
        subscribe.update(dict.fromkeys(p.subscribe))
    return NatsPermissions(tuple(publish), tuple(subscribe))


def authorization_config(users: Mapping[str, tuple[str, NatsPermissions]]) -> str:
    """nats-server's `authorization` block: `users` maps a user name to (password, permissions). A
    password written `$NAME` stays a variable nats-server resolves from its environment."""
    lines = ["authorization {", "  users: ["]
    for user, (password, perms) in users.items():
        secret = password if password.startswith("$") else json.dumps(password)
        lines += [
            "    {",
            f"      user: {json.dumps(user)}",
            f"      password: {secret}",
            "      permissions: {",
            f"        publish: {{allow: {json.dumps(list(perms.publish))}}}",
            f"        subscribe: {{allow: {json.dumps(list(perms.subscribe))}}}",
            "      }",
            "    }",
        ]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
