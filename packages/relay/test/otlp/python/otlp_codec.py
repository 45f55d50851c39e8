"""An OTLP codec independent of the relay: protobuf's own Python runtime and the opentelemetry-proto messages.

Used by packages/relay/test/otlp/independent-codec.test.ts:

  generate SEED REQUESTS DIR   writes DIR/request-<i>.pb (binary) and DIR/request-<i>.json (OTLP/JSON: proto3
                               JSON with hex ids), random ExportTraceServiceRequests: REQUESTS small ones and
                               a large one (over 1 MiB); prints a JSON summary
  check DIR FORMAT FILE...     parses what the relay forwarded (FORMAT protobuf or json; JSON strictly, with
                               protobuf's json_format) and compares it field by field with what was sent;
                               prints a JSON report {"spans", "requests", "problems"}

The random requests hold every AnyValue type (nested and mixed arrays, kvlists, bytes, empty values), integral
doubles, +-0, NaN, +-Infinity, ints near +-2^53 and +-2^63, strings with multi-byte and control characters,
scopes that differ only in their attributes, and a few GenAI spans whose legacy attributes the relay renames.
Expected differences are the relay's documented ones only: span kind UNSPECIFIED -> INTERNAL, span and link
flags rebuilt from the trace flags and the is-remote bits (every span marked sampled), and on GenAI spans the
enrichment (checked separately: the random "x." attributes must still be exact).
"""

import base64
import json
import math
import random
import struct
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

GENAI_SCOPE = "opentelemetry.instrumentation.openai_v2"

INTS = [0, 1, -1, 255, 2**31 - 1, -(2**31), 2**32, 2**53 - 1, 2**53, 2**53 + 1, -(2**53) - 1, 2**62 + 12345,
        2**63 - 1, 2**63 - 2, -(2**63), -(2**63) + 1]
DOUBLES = [0.0, -0.0, 1.0, -1.0, 2.0, 100.0, 2.0**53, 2.0**53 + 2, 2.0**63, -(2.0**63), 2.0**64, 1e21, 1e300,
           -1e300, float("nan"), float("inf"), float("-inf"), 5e-324, 1.7976931348623157e308, 0.1, -2.5, 1 / 3]
CHARS = "abcXYZ019 _-.:/\\\"'\n\t\x00\x1f\x7f\u00e9\u00df\u4e2d\u6587\u2028\ufffd\U0001f600\U00010348"
TRACE_STATES = ["", "a=1", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "vendor@tenant=x-y"]


def rand_string(rng, long=False):
    n = rng.randrange(150, 400) if long else rng.randrange(0, 20)
    return "".join(rng.choice(CHARS) for _ in range(n))


def rand_scalar(rng, value):
    kind = rng.randrange(7)
    if kind == 0:
        value.string_value = rand_string(rng, long=rng.random() < 0.1)
    elif kind == 1:
        value.bool_value = rng.random() < 0.5
    elif kind == 2:
        value.int_value = rng.choice(INTS) if rng.random() < 0.7 else rng.randint(-(2**63), 2**63 - 1)
    elif kind == 3:
        r = rng.random()
        value.double_value = rng.choice(DOUBLES) if r < 0.6 else float(rng.randint(-1000, 1000)) if r < 0.8 else rng.uniform(-1e6, 1e6)
    elif kind == 4:
        value.bytes_value = rng.randbytes(rng.randrange(0, 9))
    # kind 5, 6: an empty AnyValue


def rand_value(rng, value, depth=0):
    r = rng.random()
    if depth >= 3 or r < 0.7:
        rand_scalar(rng, value)
    elif r < 0.85:
        values = value.array_value.values
        for _ in range(rng.randrange(0, 5)):
            rand_value(rng, values.add(), depth + 1)
        value.array_value.SetInParent()
    else:
        for i in range(rng.randrange(0, 4)):
            kv = value.kvlist_value.values.add()
            kv.key = f"k{i}{rand_string(rng)[:4]}"
            rand_value(rng, kv.value, depth + 1)
        value.kvlist_value.SetInParent()


def rand_attributes(rng, attributes, prefix="x", count=None):
    # Keys are unique and not integer-like: a JS object keeps them in insertion order.
    for i in range(rng.randrange(0, 7) if count is None else count):
        kv = attributes.add()
        kv.key = f"{prefix}.{i}.{rand_string(rng)[:6]}"
        rand_value(rng, kv.value)


def rand_id(rng, n):
    while True:
        b = rng.randbytes(n)
        if any(b):
            return b


def rand_span(rng, span, used_ids):
    while True:
        span.trace_id, span.span_id = rand_id(rng, 16), rand_id(rng, 8)
        if (span.trace_id, span.span_id) not in used_ids:
            used_ids.add((span.trace_id, span.span_id))
            break
    span.trace_state = rng.choice(TRACE_STATES)
    if rng.random() < 0.6:
        span.parent_span_id = rand_id(rng, 8)
    span.flags = rng.choice([0, 1, 0x100, 0x101, 0x300, 0x301, rng.randrange(0, 2**32)])
    span.name = rand_string(rng)
    span.kind = rng.randrange(0, 6)
    span.start_time_unix_nano = rng.choice([0, 1787822507530918072, 2**64 - 1, rng.randrange(0, 2**64)])
    span.end_time_unix_nano = rng.choice([min(span.start_time_unix_nano + 1, 2**64 - 1), rng.randrange(0, 2**64)])
    rand_attributes(rng, span.attributes)
    span.dropped_attributes_count = rng.choice([0, 0, 3, 2**32 - 1])
    for _ in range(rng.randrange(0, 3)):
        event = span.events.add()
        event.time_unix_nano = rng.randrange(0, 2**64)
        event.name = rand_string(rng)
        rand_attributes(rng, event.attributes)
        event.dropped_attributes_count = rng.choice([0, 1])
    span.dropped_events_count = rng.choice([0, 2])
    for _ in range(rng.randrange(0, 3)):
        link = span.links.add()
        link.trace_id = rng.choice([b"", rand_id(rng, 16)])
        link.span_id = rand_id(rng, 8)
        link.trace_state = rng.choice(TRACE_STATES)
        rand_attributes(rng, link.attributes)
        link.dropped_attributes_count = rng.choice([0, 4])
        link.flags = rng.choice([0, 1, 0x100, 0x301, rng.randrange(0, 2**32)])
    span.dropped_links_count = rng.choice([0, 1])
    span.status.code = rng.randrange(0, 3)
    span.status.message = rng.choice(["", rand_string(rng)])


def genai_span(rng, span, used_ids, n):
    """A complete chat span with legacy keys the normalizer renames, plus random "x." attributes."""
    rand_span(rng, span, used_ids)
    span.ClearField("parent_span_id")
    span.kind = 3
    del span.attributes[:]
    legacy = {
        "gen_ai.system": AnyValue(string_value="openai"),
        "gen_ai.operation.name": AnyValue(string_value="chat"),
        "gen_ai.request.model": AnyValue(string_value="gpt-4o-mini"),
        "gen_ai.response.model": AnyValue(string_value="gpt-4o-mini-2024-07-18"),
        "gen_ai.response.id": AnyValue(string_value=f"chatcmpl-{n}"),
        "gen_ai.usage.prompt_tokens": AnyValue(int_value=1000 + n),
        "gen_ai.usage.completion_tokens": AnyValue(int_value=50),
        "gen_ai.request.temperature": AnyValue(double_value=1.0),
        "llm.top_k": AnyValue(int_value=40),
        "llm.frequency_penalty": AnyValue(double_value=1.0),
    }
    for key, value in legacy.items():
        span.attributes.add(key=key, value=value)
    rand_attributes(rng, span.attributes, count=6)


def rand_request(rng, used_ids, r, spans_per_scope):
    request = ExportTraceServiceRequest()
    genai = 0
    for ri in range(rng.randrange(1, 3)):
        rs = request.resource_spans.add()
        rand_attributes(rng, rs.resource.attributes)
        rs.resource.attributes.add(key="x.empty", value=AnyValue())
        rs.resource.dropped_attributes_count = rng.choice([0, 7])
        rs.schema_url = rng.choice(["", "https://opentelemetry.io/schemas/1.26.0"])
        for si in range(rng.randrange(1, 4)):
            ss = rs.scope_spans.add()
            ss.scope.name = rng.choice(["scope.a", "scope.b", ""])
            ss.scope.version = rng.choice(["", "1.0.0"])
            rand_attributes(rng, ss.scope.attributes)
            ss.scope.dropped_attributes_count = rng.choice([0, 2])
            ss.schema_url = rng.choice(["", "https://example.com/s"])
            for _ in range(rng.randrange(*spans_per_scope)):
                rand_span(rng, ss.spans.add(), used_ids)
            if rng.random() < 0.5:
                # A twin scope: the same name, version and schema URL, other attributes.
                twin = rs.scope_spans.add()
                twin.scope.CopyFrom(ss.scope)
                del twin.scope.attributes[:]
                twin.scope.attributes.add(key="x.twin", value=AnyValue(int_value=si))
                twin.schema_url = ss.schema_url
                for _ in range(rng.randrange(*spans_per_scope)):
                    rand_span(rng, twin.spans.add(), used_ids)
        if ri == 0 and r % 2 == 0:
            ss = rs.scope_spans.add()
            ss.scope.name = GENAI_SCOPE
            ss.scope.version = "2.1b0"
            genai_span(rng, ss.spans.add(), used_ids, r)
            genai += 1
    return request, genai


def generate(seed, count, out_dir):
    """`count` small requests, then a large one (over 1 MiB in protobuf: a relay may take it in pieces)."""
    rng = random.Random(seed)
    used_ids = set()
    summary = {"requests": [], "spans": 0, "genai": 0}
    for r in range(count + 1):
        large = r == count
        request, genai = rand_request(rng, used_ids, r, (100, 150) if large else (1, 5))
        while large and request.ByteSize() < 1_300_000:
            more, _ = rand_request(rng, used_ids, 1, (100, 150))
            request.resource_spans.extend(more.resource_spans)
        summary["genai"] += genai
        spans = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        summary["spans"] += spans
        pb_path = f"{out_dir}/request-{r}.pb"
        json_path = f"{out_dir}/request-{r}.json"
        body = request.SerializeToString()
        with open(pb_path, "wb") as f:
            f.write(body)
        with open(json_path, "w", encoding="utf-8") as f:
            as_dict = json_format.MessageToDict(request, use_integers_for_enums=True)
            ids_to_hex(as_dict)
            json.dump(as_dict, f, ensure_ascii=False, allow_nan=False)
        summary["requests"].append({"protobuf": pb_path, "json": json_path, "spans": spans, "bytes": len(body)})
    print(json.dumps(summary))


# ── OTLP/JSON ids: hex on the wire, base64 in proto3 JSON ─────────────────────────────────────────────


def convert_ids(body, convert):
    for rs in body.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                for field in ("traceId", "spanId", "parentSpanId"):
                    if field in span:
                        span[field] = convert(span[field], field)
                for link in span.get("links", []):
                    for field in ("traceId", "spanId"):
                        if field in link:
                            link[field] = convert(link[field], "link." + field)


def ids_to_hex(body):
    convert_ids(body, lambda value, field: base64.b64decode(value).hex())


class Problems:
    def __init__(self):
        self.list = []

    def add(self, where, what):
        if len(self.list) < 50:
            self.list.append(f"{where}: {what}")


def parse_forwarded_json(text, where, problems):
    """Strict: no bare NaN/Infinity, ids lowercase hex, int64 as strings, then protobuf's own JSON parser."""

    def reject_constant(name):
        raise ValueError(f"bare {name} is not JSON")

    body = json.loads(text, parse_constant=reject_constant)

    def check_int64_strings(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "intValue" and not isinstance(value, str):
                    problems.add(where, f"{path}.intValue is {value!r}, not a decimal string")
                check_int64_strings(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                check_int64_strings(value, f"{path}[{i}]")

    check_int64_strings(body, "")

    def hex_to_base64(value, field):
        if not isinstance(value, str) or value != value.lower() or len(value) % 2:
            problems.add(where, f"{field} {value!r} is not lowercase hex")
        return base64.b64encode(bytes.fromhex(value)).decode()

    convert_ids(body, hex_to_base64)
    request = ExportTraceServiceRequest()
    json_format.ParseDict(body, request)
    return request


# ── comparison ───────────────────────────────────────────────────────────────────────────────────────


def same_double(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack("<d", a) == struct.pack("<d", b)


def compare_value(a, b, path, problems):
    kind_a, kind_b = a.WhichOneof("value"), b.WhichOneof("value")
    if kind_a != kind_b:
        problems.add(path, f"sent {kind_a} {getattr(a, kind_a) if kind_a else ''!r}, got {kind_b} "
                           f"{getattr(b, kind_b) if kind_b else ''!r}")
    elif kind_a == "double_value":
        if not same_double(a.double_value, b.double_value):
            problems.add(path, f"sent double {a.double_value!r}, got {b.double_value!r}")
    elif kind_a == "array_value":
        va, vb = a.array_value.values, b.array_value.values
        if len(va) != len(vb):
            problems.add(path, f"sent {len(va)} array elements, got {len(vb)}")
        for i, (x, y) in enumerate(zip(va, vb)):
            compare_value(x, y, f"{path}[{i}]", problems)
    elif kind_a == "kvlist_value":
        compare_attributes(a.kvlist_value.values, b.kvlist_value.values, path, problems)
    elif kind_a is not None and getattr(a, kind_a) != getattr(b, kind_a):
        problems.add(path, f"sent {kind_a} {getattr(a, kind_a)!r}, got {getattr(b, kind_a)!r}")


def compare_attributes(sent, got, path, problems, only_prefix=None):
    if only_prefix is not None:
        sent = [kv for kv in sent if kv.key.startswith(only_prefix)]
        got = [kv for kv in got if kv.key.startswith(only_prefix)]
    keys_sent, keys_got = [kv.key for kv in sent], [kv.key for kv in got]
    if keys_sent != keys_got:
        problems.add(path, f"sent keys {keys_sent!r}, got {keys_got!r}")
        return
    for a, b in zip(sent, got):
        compare_value(a.value, b.value, f"{path}[{a.key!r}]", problems)


def compare_fields(sent, got, names, path, problems):
    for name in names:
        if getattr(sent, name) != getattr(got, name):
            problems.add(path, f"{name}: sent {getattr(sent, name)!r}, got {getattr(got, name)!r}")


def expected_flags(flags, span_has_parent):
    """Flags as the relay writes them: trace flags (a span reached the relay, so it is sampled), is-remote
    known, and is-remote (a span's: only when it has a parent)."""
    trace_flags = flags & 0xFF
    if span_has_parent is not None:
        trace_flags |= 1
    remote = (flags & 0x300) == 0x300 and span_has_parent is not False
    return trace_flags | 0x100 | (0x200 if remote else 0)


def check_genai(sent, got, path, problems):
    """The enrichment on the GenAI spans, beside the exact "x." attributes (compared by the caller)."""
    values = {kv.key: kv.value for kv in got.attributes}
    expect = {
        "gen_ai.provider.name": AnyValue(string_value="openai"),
        "gen_ai.usage.input_tokens": [kv.value for kv in sent.attributes if kv.key == "gen_ai.usage.prompt_tokens"][0],
        "gen_ai.usage.output_tokens": AnyValue(int_value=50),
        # Renamed from llm.top_k (int 40): the conventions type it as double.
        "gen_ai.request.top_k": AnyValue(double_value=40.0),
        "gen_ai.request.frequency_penalty": AnyValue(double_value=1.0),
        # Under its own key: kept as sent, a double 1.0 (not int 1).
        "gen_ai.request.temperature": AnyValue(double_value=1.0),
    }
    for key, value in expect.items():
        if key not in values:
            problems.add(path, f"enrichment: {key} missing")
        else:
            compare_value(value, values[key], f"{path}[{key!r}]", problems)


def check(sent_dir, fmt, files):
    problems = Problems()
    sent = {}  # (trace_id, span_id) -> (group ids, resource spans, scope spans, span)
    r = 0
    while True:
        try:
            with open(f"{sent_dir}/request-{r}.pb", "rb") as f:
                request = ExportTraceServiceRequest.FromString(f.read())
        except FileNotFoundError:
            break
        for ri, rs in enumerate(request.resource_spans):
            for si, ss in enumerate(rs.scope_spans):
                for span in ss.spans:
                    sent[(span.trace_id, span.span_id)] = ((r, ri), (r, ri, si), rs, ss, span)
        r += 1

    seen = set()
    for file in files:
        with open(file, "rb") as f:
            data = f.read()
        try:
            request = (parse_forwarded_json(data.decode("utf-8"), file, problems) if fmt == "json"
                       else ExportTraceServiceRequest.FromString(data))
        except Exception as error:  # a body the independent parser rejects is the failure this test looks for
            problems.add(file, f"rejected by protobuf's {fmt} parser: {error}")
            continue
        for ri, rs in enumerate(request.resource_spans):
            resource_group = None
            for si, ss in enumerate(rs.scope_spans):
                scope_group = None
                for span in ss.spans:
                    key = (span.trace_id, span.span_id)
                    path = f"span {span.span_id.hex()}"
                    if key not in sent:
                        problems.add(path, "forwarded but never sent")
                        continue
                    if key in seen:
                        problems.add(path, "forwarded twice")
                    seen.add(key)
                    rg, sg, srs, sss, s = sent[key]
                    # Grouping: one forwarded ResourceSpans (ScopeSpans) holds spans of one sent one only.
                    if resource_group not in (None, rg):
                        problems.add(path, f"resourceSpans merged: {rg} with {resource_group}")
                    if scope_group not in (None, sg):
                        problems.add(path, f"scopeSpans merged: {sg} with {scope_group}")
                    resource_group, scope_group = rg, sg
                    compare_attributes(srs.resource.attributes, rs.resource.attributes, f"{path} resource", problems)
                    compare_fields(srs.resource, rs.resource, ["dropped_attributes_count"], f"{path} resource", problems)
                    compare_fields(srs, rs, ["schema_url"], f"{path} resourceSpans", problems)
                    compare_fields(sss.scope, ss.scope, ["name", "version", "dropped_attributes_count"],
                                   f"{path} scope", problems)
                    compare_attributes(sss.scope.attributes, ss.scope.attributes, f"{path} scope", problems)
                    compare_fields(sss, ss, ["schema_url"], f"{path} scopeSpans", problems)
                    compare_span(s, span, sss.scope.name == GENAI_SCOPE, path, problems)
    for key in sent:
        if key not in seen:
            problems.add(f"span {key[1].hex()}", "sent but not forwarded")
    print(json.dumps({"spans": len(seen), "sent": len(sent), "requests": len(files), "problems": problems.list}))


def compare_span(s, g, genai, path, problems):
    compare_fields(s, g, ["trace_id", "span_id", "trace_state", "parent_span_id", "start_time_unix_nano",
                          "end_time_unix_nano", "dropped_attributes_count", "dropped_events_count",
                          "dropped_links_count"], path, problems)
    if not genai:
        compare_fields(s, g, ["name"], path, problems)
    expected_kind = s.kind if 2 <= s.kind <= 5 else 1  # UNSPECIFIED and unknown kinds: INTERNAL
    if g.kind != expected_kind:
        problems.add(path, f"kind: sent {s.kind}, expected {expected_kind}, got {g.kind}")
    if g.flags != expected_flags(s.flags, len(s.parent_span_id) > 0):
        problems.add(path, f"flags: sent {s.flags:#x}, got {g.flags:#x}")
    compare_fields(s.status, g.status, ["code", "message"], f"{path} status", problems)
    if genai:
        compare_attributes(s.attributes, g.attributes, f"{path} attributes", problems, only_prefix="x.")
        check_genai(s, g, f"{path} attributes", problems)
    else:
        compare_attributes(s.attributes, g.attributes, f"{path} attributes", problems)
    if len(s.events) != len(g.events):
        problems.add(path, f"sent {len(s.events)} events, got {len(g.events)}")
    for i, (a, b) in enumerate(zip(s.events, g.events)):
        compare_fields(a, b, ["time_unix_nano", "name", "dropped_attributes_count"], f"{path} event {i}", problems)
        compare_attributes(a.attributes, b.attributes, f"{path} event {i}", problems)
    if len(s.links) != len(g.links):
        problems.add(path, f"sent {len(s.links)} links, got {len(g.links)}")
    for i, (a, b) in enumerate(zip(s.links, g.links)):
        compare_fields(a, b, ["trace_id", "span_id", "trace_state", "dropped_attributes_count"], f"{path} link {i}",
                       problems)
        if b.flags != expected_flags(a.flags, None):
            problems.add(f"{path} link {i}", f"flags: sent {a.flags:#x}, got {b.flags:#x}")
        compare_attributes(a.attributes, b.attributes, f"{path} link {i}", problems)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "generate":
        generate(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif command == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        raise SystemExit(f"unknown command {command}")
