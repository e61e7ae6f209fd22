"""One generated request: what it sends, as whom, and what the oracle needs to judge the answer."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True, repr=False)
class Request:
    caller: str  # a key of Target.callers
    kind: str  # "query", "mutation" or "raw"
    label: str  # what the tally counts it under: the root fields, or the kind of raw request
    keys: tuple[str, ...] = ()  # response keys of the root fields
    fields: tuple[str, ...] = ()  # and their names
    body: bytes = b""
    method: str = "POST"
    params: str = ""  # the query string of a GET
    content_type: str = "application/json"
    authorization: str | None = None  # replaces the caller's Authorization header

    def __repr__(self) -> str:  # Hypothesis shows it; a body may be 100 kB
        shown = (self.body or self.params.encode())[:500].decode("utf-8", "backslashreplace")
        return f"<{self.method} {self.label} as {self.caller} ({len(self.body)} bytes): {shown}>"


CALLERS = st.sampled_from(["admin", "admin", "customer", "customer", "other", "anonymous"])
