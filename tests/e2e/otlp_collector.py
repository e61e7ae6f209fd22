"""A minimal OTLP/gRPC trace collector for tests: the processes under test export their spans to it
(`OTEL_EXPORTER_OTLP_ENDPOINT`), and the test reads what arrived."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


@dataclass(frozen=True)
class CollectedSpan:
    service: str  # the resource's service.name
    trace_id: str  # 32 hex digits
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    attributes: dict[str, str]


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[CollectedSpan] = []
        self._server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self) -> str:
        self._server = grpc.aio.server()
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _text(a.value) for a in span.attributes}
                    self.spans.append(
                        CollectedSpan(
                            resource.get("service.name", ""),
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            span.name,
                            attributes,
                        )
                    )
        return trace_service_pb2.ExportTraceServiceResponse()

    def of_trace(self, trace_id: str) -> list[CollectedSpan]:
        return [s for s in self.spans if s.trace_id == trace_id]

    async def wait_for(self, trace_id: str, services: set[str], within: float = 30.0) -> list[CollectedSpan]:
        """The spans of `trace_id` once every one of `services` has exported some (or after `within`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if services <= {s.service for s in self.of_trace(trace_id)}:
                await asyncio.sleep(1.0)  # the batch of a later hop may still be on its way
                break
            await asyncio.sleep(0.2)
        return self.of_trace(trace_id)


def _text(value: Any) -> str:
    kind = value.WhichOneof("value")
    return str(getattr(value, kind)) if kind else ""
