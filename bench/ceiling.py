"""The ceiling: a raw ASGI app answering POST /graphql with fixed JSON bytes from memory.

Run under the same uvicorn (same workers, loop and HTTP parser) as Mercato, it shows what the HTTP
stack alone costs; the gap to the real server is GraphQL, the services and the database.
`BENCH_CEILING_BODY` names a file holding the bytes (captured from a real response).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send

_BODY_FILE = os.environ.get("BENCH_CEILING_BODY")
BODY = Path(_BODY_FILE).read_bytes() if _BODY_FILE else b'{"data":null}'
_JSON_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
_READY = b'{"ready":true}'


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: Any = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the request body, as the real server does
        message = await receive()
        more = bool(message.get("more_body", False))
    path, method = scope["path"], scope["method"]
    if path == "/graphql" and method == "POST":
        await _respond(send, 200, BODY, _JSON_HEADERS)
    elif path == "/readyz":
        await _respond(send, 200, _READY, [(b"content-type", b"application/json")])
    else:
        await _respond(send, 404, b"", [])
