"""The protos follow Buf's STANDARD style (`buf lint`), and the rules checked again in Python so a
machine without buf still catches the worst mistakes: versioned packages matching their directory,
services ending in `Service`, one request and one response type per RPC, unique field numbers never
reused as reserved, and enums whose zero value is `<ENUM>_UNSPECIFIED`."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.contract.conftest import PROTO_ROOT, buf_binary, require

CONTEXTS = {"common", "catalog", "inventory", "cart", "customers", "payments", "orders", "search"}
SERVICE_FILES = {
    "catalog": "catalog_service.proto",
    "inventory": "inventory_service.proto",
    "cart": "cart_service.proto",
    "customers": "customers_service.proto",
    "payments": "payments_service.proto",
    "orders": "orders_service.proto",
    "search": "search_service.proto",
}
EVENT_CONTEXTS = ("catalog", "inventory", "customers", "payments", "orders")


def _proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


# --- a small parser: enough for the subset of proto3 Mercato uses -------------------------------

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_BLOCK = re.compile(r"\b(message|enum|service|oneof)\s+(\w+)\s*\{|\{|\}")
_RPC = re.compile(
    r"\brpc\s+(\w+)\s*\(\s*(stream\s+)?([\w.]+)\s*\)\s*returns\s*\(\s*(stream\s+)?([\w.]+)\s*\)"
)
_FIELD = re.compile(
    r"^\s*(?:optional\s+|repeated\s+)?(?:map\s*<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*(?:\[[^\]]*\])?\s*;"
)
_ENUM_VALUE = re.compile(r"^\s*(\w+)\s*=\s*(-?\d+)\s*(?:\[[^\]]*\])?\s*;")
_RESERVED = re.compile(r"^\s*reserved\s+([^;]+);")


@dataclass
class Block:
    kind: str  # message | enum | service
    name: str
    body: list[str] = field(default_factory=list)  # statements directly inside (oneofs folded in)


@dataclass
class ProtoFile:
    path: Path
    package: str | None
    blocks: list[Block]

    def of_kind(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.kind == kind]


def parse(path: Path) -> ProtoFile:
    text = _COMMENT.sub("", path.read_text(encoding="utf-8"))
    package = m.group(1) if (m := _PACKAGE.search(text)) else None
    blocks: list[Block] = []
    stack: list[Block | None] = []  # None: a brace that is not a named block (options, oneof)
    pos = 0
    for match in _BLOCK.finditer(text):
        chunk = text[pos : match.start()]
        pos = match.end()
        owner = next((b for b in reversed(stack) if b is not None), None)
        if owner is not None:
            owner.body.extend(s for s in chunk.split(";") if s.strip())
        token = match.group(0)
        if token == "}":
            stack.pop()
        elif match.group(1) in {"message", "enum", "service"}:
            block = Block(match.group(1), match.group(2))
            blocks.append(block)
            stack.append(block)
        else:  # oneof or an anonymous brace: its statements belong to the enclosing block
            stack.append(None)
    assert not stack, f"{path}: unbalanced braces"
    for block in blocks:
        block.body = [s.strip() + ";" for s in block.body]
    return ProtoFile(path, package, blocks)


PARSED = [parse(p) for p in _proto_files()]
IDS = [p.path.relative_to(PROTO_ROOT).as_posix() for p in PARSED]


# --- buf ----------------------------------------------------------------------------------------


def test_buf_lint_passes() -> None:
    buf = buf_binary()
    require(buf is not None, "buf is not installed (pip install buf-bin)")
    assert buf is not None
    result = subprocess.run(
        [buf, "lint", "proto"], cwd=PROTO_ROOT.parent, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"buf lint failed:\n{result.stdout}{result.stderr}"


def test_buf_config_uses_standard_lint_and_file_breaking() -> None:
    config = (PROTO_ROOT / "buf.yaml").read_text(encoding="utf-8")
    assert re.search(r"^version:\s*v2\s*$", config, re.MULTILINE)
    assert re.search(r"^lint:\s*\n\s+use:\s*\n\s+-\s*STANDARD\s*$", config, re.MULTILINE)
    assert re.search(r"^breaking:\s*\n\s+use:\s*\n\s+-\s*FILE\s*$", config, re.MULTILINE)


# --- the same rules, in Python ------------------------------------------------------------------


def test_there_is_a_service_and_an_events_file_per_context() -> None:
    for context, name in SERVICE_FILES.items():
        assert (PROTO_ROOT / "mercato" / context / "v1" / name).is_file()
    for context in EVENT_CONTEXTS:
        assert (PROTO_ROOT / "mercato" / context / "v1" / "events.proto").is_file()
    for name in ("money.proto", "errors.proto"):
        assert (PROTO_ROOT / "mercato" / "common" / "v1" / name).is_file()


@pytest.mark.parametrize("proto", PARSED, ids=IDS)
def test_package_is_versioned_and_matches_its_directory(proto: ProtoFile) -> None:
    assert proto.package is not None, "every file declares a package"
    m = re.fullmatch(r"mercato\.([a-z][a-z0-9_]*)\.v[1-9][0-9]*", proto.package)
    assert m, f"package {proto.package!r} is not mercato.<context>.v<N>"
    assert m.group(1) in CONTEXTS
    directory = proto.path.parent.relative_to(PROTO_ROOT).as_posix()
    assert directory == proto.package.replace(".", "/")
    assert re.fullmatch(r"[a-z][a-z0-9_]*\.proto", proto.path.name), "file names are lower_snake_case"


@pytest.mark.parametrize("proto", PARSED, ids=IDS)
def test_services_end_in_service(proto: ProtoFile) -> None:
    for service in proto.of_kind("service"):
        assert service.name.endswith("Service"), service.name


def _rpcs() -> list[tuple[str, str, str, str]]:
    found = []
    for proto in PARSED:
        for service in proto.of_kind("service"):
            for statement in service.body:
                if m := _RPC.search(statement):
                    found.append((f"{proto.package}.{service.name}", m.group(1), m.group(3), m.group(5)))
    return found


def test_every_rpc_has_its_own_request_and_response() -> None:
    rpcs = _rpcs()
    assert len(rpcs) >= 50, "the parser found the RPCs"
    uses = Counter(t for _, _, request, response in rpcs for t in (request, response))
    for service, rpc, request, response in rpcs:
        assert request == f"{rpc}Request", f"{service}.{rpc} takes {request}"
        assert response == f"{rpc}Response", f"{service}.{rpc} returns {response}"
        assert uses[request] == 1 and uses[response] == 1, f"{service}.{rpc} shares a type"
        assert "Empty" not in (request, response)


def test_request_and_response_types_are_used_by_their_rpc_only() -> None:
    rpc_types = {t for _, _, request, response in _rpcs() for t in (request, response)}
    defined = {b.name for p in PARSED for b in p.of_kind("message")}
    assert rpc_types <= defined, f"undefined: {rpc_types - defined}"
    # No message named like a request/response that no RPC uses, and none embedded in another message.
    stray = {n for n in defined if n.endswith(("Request", "Response")) and n not in rpc_types}
    events = {
        b.name for p in PARSED if p.path.name == "events.proto" for b in p.of_kind("message")
    }  # saga command events are named `...Requested`, not `...Request`
    assert not (stray - events), f"request/response messages without an RPC: {stray - events}"
    for proto in PARSED:
        for message in proto.of_kind("message"):
            for statement in message.body:
                words = re.findall(r"[\w.]+", statement)
                assert not (set(words) & rpc_types), f"{message.name} embeds a request/response type"


def _reserved(statements: list[str]) -> tuple[set[int], set[str]]:
    numbers: set[int] = set()
    names: set[str] = set()
    for statement in statements:
        if not (m := _RESERVED.match(statement)):
            continue
        for part in (p.strip() for p in m.group(1).split(",")):
            if part.startswith('"'):
                names.add(part.strip('"'))
            elif " to " in part:
                low, high = part.split(" to ")
                top = 536_870_911 if high.strip() == "max" else int(high)
                numbers.update(range(int(low), min(top, int(low) + 10_000) + 1))
            else:
                numbers.add(int(part))
    return numbers, names


@pytest.mark.parametrize("proto", PARSED, ids=IDS)
def test_field_numbers_are_unique_and_never_reserved(proto: ProtoFile) -> None:
    for message in proto.of_kind("message"):
        fields = [m.groups() for s in message.body if (m := _FIELD.match(s))]
        numbers = [int(n) for _, n in fields]
        names = [n for n, _ in fields]
        duplicates = [n for n, count in Counter(numbers).items() if count > 1]
        assert not duplicates, f"{message.name}: field numbers used twice: {duplicates}"
        assert len(set(names)) == len(names), f"{message.name}: field names used twice"
        assert all(1 <= n <= 536_870_911 and not 19_000 <= n <= 19_999 for n in numbers)
        reserved_numbers, reserved_names = _reserved(message.body)
        assert not (set(numbers) & reserved_numbers), f"{message.name} reuses a reserved number"
        assert not (set(names) & reserved_names), f"{message.name} reuses a reserved name"


@pytest.mark.parametrize("proto", PARSED, ids=IDS)
def test_enums_start_with_a_prefixed_unspecified_zero(proto: ProtoFile) -> None:
    for enum in proto.of_kind("enum"):
        values = [(n, int(v)) for s in enum.body if (m := _ENUM_VALUE.match(s)) for n, v in [m.groups()]]
        assert values, f"{enum.name} has values"
        prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"
        first_name, first_number = values[0]
        assert first_number == 0 and first_name.endswith("_UNSPECIFIED"), enum.name
        assert first_name == f"{prefix}UNSPECIFIED", f"{enum.name}: zero value is {first_name}"
        for name, _ in values:
            assert name.startswith(prefix), f"{enum.name}.{name} lacks the prefix {prefix}"
        numbers = [v for _, v in values]
        assert len(set(numbers)) == len(numbers), f"{enum.name}: numbers used twice"
        reserved_numbers, _ = _reserved(enum.body)
        assert not (set(numbers) & reserved_numbers), f"{enum.name} reuses a reserved number"


def test_every_mutation_taking_an_idempotency_key_in_python_carries_one() -> None:
    """The Python ports take an idempotency key for these operations; the requests must carry it."""
    needs_key = {
        "AdjustStockRequest",
        "AuthorizePaymentRequest",
        "CapturePaymentRequest",
        "VoidPaymentRequest",
        "RefundPaymentRequest",
        "PlaceOrderRequest",
        "RefundOrderRequest",
    }
    messages = {b.name: b for p in PARSED for b in p.of_kind("message")}
    for name in needs_key:
        fields = {m.group(1) for s in messages[name].body if (m := _FIELD.match(s))}
        assert "idempotency_key" in fields, f"{name} has no idempotency_key"


def test_the_parser_sees_what_protoc_sees() -> None:
    """Cross-check the regex parser against descriptors compiled by protoc (when grpc_tools is
    installed): same messages, same field numbers."""
    try:
        from grpc_tools import protoc
    except ImportError:
        require(False, "grpcio-tools is not installed")
        return
    import tempfile

    from google.protobuf import descriptor_pb2

    include = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        files = [p.relative_to(PROTO_ROOT).as_posix() for p in _proto_files()]
        code = protoc.main(
            ["protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--descriptor_set_out={out}", *files]
        )
        assert code == 0
        descriptors = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())

    def walk(prefix: str, messages: list[descriptor_pb2.DescriptorProto]) -> dict[str, set[int]]:
        found: dict[str, set[int]] = {}
        for m in messages:
            if m.options.map_entry:
                continue
            found[m.name] = {f.number for f in m.field}
            found.update(walk(f"{prefix}{m.name}.", list(m.nested_type)))
        return found

    compiled: dict[str, set[int]] = {}
    for file in descriptors.file:
        compiled.update({f"{file.package}.{k}": v for k, v in walk("", list(file.message_type)).items()})
        for message in file.message_type:
            numbers = [f.number for f in message.field]
            assert len(numbers) == len(set(numbers))
    parsed: dict[str, set[int]] = {}
    for proto in PARSED:
        for message in proto.of_kind("message"):
            parsed[f"{proto.package}.{message.name}"] = {
                int(m.group(2)) for s in message.body if (m := _FIELD.match(s))
            }
    assert parsed == compiled
