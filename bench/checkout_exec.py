"""CPU of the GraphQL layer around `checkoutComplete`'s resolver, in process, no HTTP, no engines.

    .venv/bin/python -m bench.checkout_exec [--requests 2000] [--repeats 5]

Executes the checkout driver's own document (`bench.checkout.CHECKOUT`) through the gateway's schema,
each request with variables of its own (a new cart id and idempotency key, as every checkout has),
with no signed-in customer, so the resolver answers UNAUTHENTICATED at once: what is left is what
Strawberry and graphql-core do around it (parsing and validation caches, the query cost, argument
coercion and conversion, the payload's completion, the extensions). Prints CPU microseconds per request
(process time) of each repeat. To compare two trees, run it from each, alternating, with PYTHONPATH
set to the tree: on a shared machine only the ratios of runs next to each other mean much.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
import uuid

from bench.checkout import ADDRESS, CHECKOUT
from bench.storefront_data import MemoryCatalog, context, memory_clients
from mercato.gateway.graphql.schema import build_schema
from mercato.platform.config import Settings

WARMUP = 200


async def measure(requests: int, repeats: int) -> list[float]:
    settings = Settings()
    schema = build_schema(settings)
    clients = memory_clients(MemoryCatalog(products=30))

    async def one() -> None:
        variables = {"c": str(uuid.uuid4()), "a": ADDRESS, "k": secrets.token_hex(8)}
        result = await schema.execute(CHECKOUT, variables, context_value=context(settings, clients))
        data = result.data or {}
        if result.errors or not data.get("checkoutComplete", {}).get("errors"):
            raise SystemExit(f"checkout_exec: unexpected answer {result}")

    for _ in range(WARMUP):
        await one()
    per_request = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(requests):
            await one()
        per_request.append((time.process_time() - started) / requests * 1e6)
    return per_request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkout_exec", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per repeat (default 2000)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    found = asyncio.run(measure(args.requests, args.repeats))
    print(
        f"checkout_exec: {min(found):.1f} CPU us per checkoutComplete (least of {args.repeats}: "
        + ", ".join(f"{x:.1f}" for x in found)
        + ")",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
