#!/usr/bin/env python3
"""Checks api/openapi.yaml against the code and the contract; exits 1 on any finding.

Static checks (CI, no build needed):
  - the document: OpenAPI 3.0.3, each object uses only the fields OpenAPI 3.0's schema
    allows (so a misspelt keyword fails), every $ref resolves, unique operationIds, every
    path template's parameters declared, every operation has responses with descriptions;
  - routes: the ROUTES table below names every route of api/router.cpp's route table
    (and no other); each is the documented method + path with its operationId, its
    x-seatd-route label and exactly the statuses listed here; no undocumented operation;
  - roles: admin operations answer 403, the others do not; /v1 operations need the bearer
    token and answer 401; the operations endpoints need none;
  - errors: the ErrorCode enum holds every code of docs/API.md's error table, every code the
    router, the HTTP server and the inventory core (inventory_errc.cpp) can answer, and
    nothing else; each (status, code) the sources can answer is documented under that
    status; every error answer is the Error schema;
  - headers: X-Request-Id on every answer the router gives, Retry-After on its 429 and 503;
  - requests: every request schema refusing unknown fields has exactly the fields, and the
    required fields, of an object_reader in api/json_codec.cpp, and vice versa;
  - limits: identifier patterns and numeric limits equal the constants in common/,
    api/json_codec.cpp and actors/;
  - examples: every example validates against its schema; docs/API.md's event definition
    validates against EventDefinition; bodies the codec refuses do not validate.

Live check (optional, needs a running seatd):
  scripts/check-openapi.py --live http://127.0.0.1:8080 --admin-token A --gateway-token G
  drives every operation through its answers and checks each answer's status is documented
  for the operation and its body and headers match the document. It creates an event
  (openapi-<milliseconds>) with holds and reservations: point it at a scratch node.

Python 3 standard library plus PyYAML (python3-yaml, in scripts/install-deps.sh).
"""

import argparse
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    import yaml
except ImportError:
    sys.exit("check-openapi: PyYAML is missing: apt-get install python3-yaml "
             "(scripts/install-deps.sh installs it)")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

# A route's name in api/router.cpp's route table -> the documented operation. `statuses` is every status the
# route can answer (the router's own, the codec's and the core's, plus 413/431/501/503 from the
# HTTP layer). 405 is not listed per operation: it is the answer to the methods a path does
# not have (x-seatd-other-methods).
EVENT_SCOPED = {"400", "401", "404", "413", "415", "429", "431", "501", "503"}
SERVER_LEVEL = {"413", "431", "501", "503"}
ROUTES = {
    "healthz": ("get", "/healthz", "getHealthz", "none", {"200"} | SERVER_LEVEL),
    "readyz": ("get", "/readyz", "getReadyz", "none", {"200"} | SERVER_LEVEL),
    "metrics": ("get", "/metrics", "getMetrics", "none", {"200"} | SERVER_LEVEL),
    "cluster": ("get", "/v1/cluster", "getCluster", "admin",
                {"200", "400", "401", "403"} | SERVER_LEVEL),
    "event": ("get", "/v1/events/{event_id}", "getEvent", "gateway", {"200"} | EVENT_SCOPED),
    "event_put": ("put", "/v1/events/{event_id}", "putEvent", "admin",
                  ({"201", "200", "403", "409"} | EVENT_SCOPED) - {"404"}),
    "seats": ("get", "/v1/events/{event_id}/seats", "listSeats", "gateway",
              {"200"} | EVENT_SCOPED),
    "seats_block": ("post", "/v1/events/{event_id}/seats/block", "blockSeats", "admin",
                    {"200", "403", "409"} | EVENT_SCOPED),
    "seats_unblock": ("post", "/v1/events/{event_id}/seats/unblock", "unblockSeats", "admin",
                      {"200", "403", "409"} | EVENT_SCOPED),
    "hold": ("post", "/v1/events/{event_id}/holds", "createHold", "gateway",
             {"201", "409", "422"} | EVENT_SCOPED),
    "hold_get": ("get", "/v1/events/{event_id}/holds/{hold_id}", "getHold", "gateway",
                 {"200"} | EVENT_SCOPED),
    "hold_release": ("delete", "/v1/events/{event_id}/holds/{hold_id}", "releaseHold",
                     "gateway", {"200", "409", "410"} | EVENT_SCOPED),
    "hold_extend": ("post", "/v1/events/{event_id}/holds/{hold_id}/extend", "extendHold",
                    "gateway", {"200", "409", "410"} | EVENT_SCOPED),
    "hold_confirm": ("post", "/v1/events/{event_id}/holds/{hold_id}/confirm", "confirmHold",
                     "gateway", {"201", "200", "409", "410"} | EVENT_SCOPED),
    "reservation_get": ("get", "/v1/events/{event_id}/reservations/{reservation_id}",
                        "getReservation", "gateway", {"200"} | EVENT_SCOPED),
    "reservation_cancel": ("post",
                           "/v1/events/{event_id}/reservations/{reservation_id}/cancel",
                           "cancelReservation", "gateway", {"200", "409"} | EVENT_SCOPED),
}

# The codes of the error table of docs/API.md (the contract). That table is parsed too and
# must name exactly these ($SEATD_API_MD reads another copy of the contract instead).
API_MD_CODES = {
    "invalid_request", "unknown_seat", "unauthorized", "forbidden", "event_not_found",
    "hold_not_found", "reservation_not_found", "seats_unavailable", "no_seats_match",
    "ga_sold_out", "hold_already_confirmed", "hold_released", "reservation_already_cancelled",
    "event_conflict", "idempotency_key_reused", "hold_expired", "body_too_large",
    "customer_limit_exceeded", "overloaded", "unavailable",
}

# Bodies the codec refuses (400): none may validate against its schema.
MUST_NOT_VALIDATE = [
    ("HoldRequest", {"customer_id": "c", "seats": ["A-1-1"], "ga": {"area": "F", "count": 1}}),
    ("HoldRequest", {"customer_id": "c"}),
    ("HoldRequest", {"customer_id": "c", "seats": ["A-1-1"], "surprise": 1}),
    ("HoldRequest", {"customer_id": 7, "seats": ["A-1-1"]}),
    ("HoldRequest", {"customer_id": "c", "seats": ["A-1-1", "A-1-1"]}),
    ("HoldRequest", {"customer_id": "c", "seats": ["A-1-2-3"]}),
    ("HoldRequest", {"customer_id": "c", "best_available": {"count": 51}}),
    ("HoldRequest", {"customer_id": "c", "ga": {"area": "F", "count": 2.0}}),
    ("HoldRequest", {"customer_id": "bad id", "seats": ["A-1-1"]}),
    ("HoldRequest", {"customer_id": "c", "seats": ["A-1-1"], "ttl_s": 0}),
    ("ExtendRequest", {}),
    ("ExtendRequest", {"ttl_s": -1}),
    ("ConfirmRequest", {"idempotency_key": "k"}),
    ("ConfirmRequest", {"payment_ref": ""}),
    ("CancelRequest", {"reason": 5}),
    ("SeatsRequest", {"seats": []}),
    ("ReleaseRequest", {"x": 1}),
    ("ReleaseRequest", {"idempotency_key": "k"}),
    ("ReleaseRequest", {"customer_id": "bad id"}),
    ("ExtendRequest", {"ttl_s": 5, "customer_id": 7}),
    ("EventDefinition", {"name": "n", "starts_at": "2027-03-01T10:00:00Z", "categories": [],
                         "sections": []}),
    ("EventDefinition", {"name": "n", "starts_at": "tomorrow",
                         "categories": [{"id": "A", "price_minor": 1, "currency": "KRW"}]}),
    ("EventDefinition", {"name": "n", "starts_at": "2027-03-01T10:00:00Z",
                         "categories": [{"id": "A", "price_minor": 1, "currency": "krw"}]}),
    ("Row", {"id": "1", "seats": 0, "category": "A"}),
    ("Row", {"id": "1", "seats": [], "category": "A"}),
    ("Row", {"id": "1-2", "seats": 3, "category": "A"}),
]

findings = []


def fail(message):
    findings.append(message)


def read(relative):
    with open(os.path.join(ROOT, relative), encoding="utf-8") as f:
        return f.read()


# ---- the document ------------------------------------------------------------------------

def resolve(doc, node):
    """Follows $ref chains inside the document."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise KeyError(ref)
        target = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
        if seen > 20:
            raise KeyError(ref + " (a cycle)")
    return node


def walk(node, path=""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, path + "/" + str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, path + "/" + str(i))


METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def operations(doc):
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item, item[method]


# The fields OpenAPI 3.0's own JSON schema allows in each object (plus x-* extensions): a
# misspelt keyword (minimun, requried) would otherwise be ignored by every tool.
FIELDS = {
    "root": {"openapi", "info", "externalDocs", "servers", "security", "tags", "paths",
             "components"},
    "info": {"title", "description", "termsOfService", "contact", "license", "version"},
    "components": {"schemas", "responses", "parameters", "examples", "requestBodies", "headers",
                   "securitySchemes", "links", "callbacks"},
    "path": {"$ref", "summary", "description", "servers", "parameters"} | set(METHODS),
    "operation": {"tags", "summary", "description", "externalDocs", "operationId", "parameters",
                  "requestBody", "responses", "callbacks", "deprecated", "security", "servers"},
    "requestBody": {"description", "content", "required"},
    "response": {"description", "headers", "content", "links"},
    "media": {"schema", "example", "examples", "encoding"},
    "parameter": {"name", "in", "description", "required", "deprecated", "allowEmptyValue",
                  "style", "explode", "allowReserved", "schema", "content", "example",
                  "examples"},
    "header": {"description", "required", "deprecated", "allowEmptyValue", "style", "explode",
               "allowReserved", "schema", "content", "example", "examples"},
    "schema": {"title", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
               "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
               "uniqueItems", "maxProperties", "minProperties", "required", "enum", "type", "not",
               "allOf", "oneOf", "anyOf", "items", "properties", "additionalProperties",
               "description", "format", "default", "nullable", "discriminator", "readOnly",
               "writeOnly", "example", "externalDocs", "deprecated", "xml"},
}


def check_fields(kind, node, where):
    if not isinstance(node, dict):
        fail(f"{where}: must be an object")
        return False
    if "$ref" in node and kind != "path":
        return False  # a Reference: what it points to is checked where it is defined
    for key in node:
        if key not in FIELDS[kind] and not str(key).startswith("x-"):
            fail(f"{where}: {key!r} is not a field of an OpenAPI 3.0 {kind} object")
    return True


def check_schema(node, where):
    if not check_fields("schema", node, where):
        return
    if node.get("type") not in (None, "array", "boolean", "integer", "number", "object",
                                "string"):
        fail(f"{where}: unknown type {node['type']!r}")
    required = node.get("required")
    if required is not None and (not required or len(set(required)) != len(required)):
        fail(f"{where}: required must be a non-empty list of distinct names")
    if required and "properties" in node:
        for name in required:
            if name not in node["properties"]:
                fail(f"{where}: required field {name} is not among the properties")
    if "pattern" in node:
        try:
            re.compile(node["pattern"])
        except re.error as e:
            fail(f"{where}: pattern does not compile: {e}")
    for key, value in node.get("properties", {}).items():
        check_schema(value, f"{where}.properties.{key}")
    for key in ("items", "not"):
        if key in node:
            check_schema(node[key], f"{where}.{key}")
    if isinstance(node.get("additionalProperties"), dict):
        check_schema(node["additionalProperties"], f"{where}.additionalProperties")
    for key in ("allOf", "oneOf", "anyOf"):
        for i, sub in enumerate(node.get(key, [])):
            check_schema(sub, f"{where}.{key}[{i}]")


def check_content(content, where):
    for media, item in content.items():
        if check_fields("media", item, f"{where}.{media}"):
            if "example" in item and "examples" in item:
                fail(f"{where}.{media}: example and examples exclude each other")
            if "schema" in item:
                check_schema(item["schema"], f"{where}.{media}.schema")


def check_parameter_like(kind, node, where):
    if check_fields(kind, node, where):
        if "schema" in node:
            check_schema(node["schema"], f"{where}.schema")
        if kind == "parameter" and node.get("in") not in ("path", "query", "header", "cookie"):
            fail(f"{where}: in must be path, query, header or cookie")


def check_response(node, where):
    if check_fields("response", node, where):
        if not node.get("description"):
            fail(f"{where}: no description")
        for name, header in node.get("headers", {}).items():
            check_parameter_like("header", header, f"{where}.headers.{name}")
        check_content(node.get("content", {}), where + ".content")


def check_shapes(doc):
    check_fields("root", doc, "document")
    check_fields("info", doc.get("info", {}), "info")
    components = doc.get("components", {})
    check_fields("components", components, "components")
    for name, schema in components.get("schemas", {}).items():
        if not re.fullmatch(r"[a-zA-Z0-9.\-_]+", name):
            fail(f"components.schemas.{name}: not a valid component name")
        check_schema(schema, f"components.schemas.{name}")
    for name, response in components.get("responses", {}).items():
        check_response(response, f"components.responses.{name}")
    for name, parameter in components.get("parameters", {}).items():
        check_parameter_like("parameter", parameter, f"components.parameters.{name}")
    for name, header in components.get("headers", {}).items():
        check_parameter_like("header", header, f"components.headers.{name}")
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/"):
            fail(f"paths: {path} must start with /")
        check_fields("path", item, path)
        for i, parameter in enumerate(item.get("parameters", [])):
            check_parameter_like("parameter", parameter, f"{path}.parameters[{i}]")
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            where = f"{method.upper()} {path}"
            check_fields("operation", op, where)
            for i, parameter in enumerate(op.get("parameters", [])):
                check_parameter_like("parameter", parameter, f"{where}.parameters[{i}]")
            body = op.get("requestBody")
            if body is not None and check_fields("requestBody", body, where + ".requestBody"):
                check_content(body.get("content", {}), where + ".requestBody.content")
            for status, response in op.get("responses", {}).items():
                if not re.fullmatch(r"[1-5](\d\d|XX)|default", str(status)):
                    fail(f"{where}: response key {status!r} is not a status")
                check_response(response, f"{where}.responses.{status}")


def check_document(doc):
    check_shapes(doc)
    if doc.get("openapi") != "3.0.3":
        fail("openapi: must be 3.0.3")
    for key in ("title", "version"):
        if not doc.get("info", {}).get(key):
            fail(f"info.{key}: missing")
    for where, node in walk(doc):
        if "$ref" in node:
            try:
                resolve(doc, node)
            except (KeyError, TypeError) as e:
                fail(f"{where}: $ref does not resolve: {e}")
    seen_ids = {}
    for path, method, item, op in operations(doc):
        name = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        if not op_id:
            fail(f"{name}: no operationId")
        elif op_id in seen_ids:
            fail(f"{name}: operationId {op_id} also used by {seen_ids[op_id]}")
        else:
            seen_ids[op_id] = name
        params = [resolve(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        declared = {p["name"] for p in params if p.get("in") == "path"}
        for p in params:
            if p.get("in") == "path" and p.get("required") is not True:
                fail(f"{name}: path parameter {p['name']} must be required")
        wanted = set(re.findall(r"\{([^}]+)\}", path))
        if wanted != declared:
            fail(f"{name}: path parameters {sorted(wanted)} but declared {sorted(declared)}")
        responses = op.get("responses") or {}
        if not responses:
            fail(f"{name}: no responses")
        for status, response in responses.items():
            response = resolve(doc, response)
            if not response.get("description"):
                fail(f"{name} {status}: no description")


# ---- a validator for the OpenAPI 3.0 schema subset this document uses -------------------

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def validate(doc, schema, value, where="$"):
    """Returns the list of reasons `value` does not match `schema` (empty: it matches)."""
    schema = resolve(doc, schema)
    errors = []
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null is not allowed"]
    for sub in schema.get("allOf", []):
        sub = resolve(doc, sub)
        errors += validate(doc, {k: v for k, v in sub.items() if k != "nullable"}, value, where)
    if "oneOf" in schema:
        matching = sum(1 for s in schema["oneOf"] if not validate(doc, s, value, where))
        if matching != 1:
            errors.append(f"{where}: matches {matching} of oneOf, not exactly 1")
    if "anyOf" in schema and not any(not validate(doc, s, value, where) for s in schema["anyOf"]):
        errors.append(f"{where}: matches none of anyOf")
    kind = schema.get("type")
    if kind and not TYPES[kind](value):
        return errors + [f"{where}: not of type {kind}: {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{where}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']}")
        if schema.get("format") == "date-time" and not RFC3339.match(value):
            errors.append(f"{where}: {value!r} is not an RFC 3339 date-time")
    if TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{where}: {value} below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} above {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if schema.get("uniqueItems"):
            dumped = [json.dumps(v, sort_keys=True) for v in value]
            if len(set(dumped)) != len(dumped):
                errors.append(f"{where}: items are not unique")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += validate(doc, schema["items"], item, f"{where}[{i}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: {key} is required")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            errors.append(f"{where}: more than {schema['maxProperties']} properties")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                errors += validate(doc, properties[key], item, f"{where}.{key}")
            elif extra is False:
                errors.append(f"{where}: unknown field {key}")
            elif isinstance(extra, dict):
                errors += validate(doc, extra, item, f"{where}.{key}")
    return errors


def check_examples(doc):
    count = 0
    for where, node in walk(doc):
        if "schema" not in node:
            continue
        samples = []
        if "example" in node:
            samples.append(("example", node["example"]))
        for name, ex in (node.get("examples") or {}).items():
            samples.append((f"examples/{name}", resolve(doc, ex).get("value")))
        for name, value in samples:
            if isinstance(node["schema"], dict) and resolve(doc, node["schema"]).get("type") == "string":
                continue  # text/plain
            for error in validate(doc, node["schema"], value):
                fail(f"{where}/{name}: {error}")
            count += 1
    schemas = doc["components"]["schemas"]
    for name, body in MUST_NOT_VALIDATE:
        if not validate(doc, schemas[name], body):
            fail(f"schemas.{name} accepts a body the codec refuses: {json.dumps(body)}")
    return count


def check_api_md(doc):
    path = os.environ.get("SEATD_API_MD") or os.path.join(ROOT, "docs", "API.md")
    if not os.path.isfile(path):
        fail(f"the contract {path} is missing")
        return
    text = open(path, encoding="utf-8").read()
    section = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    codes = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or not re.match(r"^\d{3}", cells[0]):
            continue
        cell = cells[1]
        while re.search(r"\([^()]*\)", cell):
            cell = re.sub(r"\([^()]*\)", "", cell)
        codes |= set(re.findall(r"`([a-z_]+)`", cell))
    if codes != API_MD_CODES:
        fail(f"API.md's error table names {sorted(codes ^ API_MD_CODES)} differently from "
             "API_MD_CODES in this script")
    # API.md's event definition must be a valid body.
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        try:
            value = json.loads(block)
        except ValueError:
            continue
        if isinstance(value, dict) and "categories" in value:
            for error in validate(doc, doc["components"]["schemas"]["EventDefinition"], value):
                fail(f"API.md's event definition: {error}")
    print(f"check-openapi: API.md read from {os.path.normpath(path)}")


# ---- the code ----------------------------------------------------------------------------

def router_table():
    """(method, pattern, name) of each row of the route table in api/router.cpp."""
    rows = re.findall(r'route\{"([A-Z]+|\*)",\s*"([^"]+)",\s*"([a-z_]+)"', read("api/router.cpp"))
    if len(rows) < len(ROUTES):
        fail(f"found only {len(rows)} rows in router.cpp's route table; has it moved?")
    return rows


def check_routes(doc):
    rows = router_table()
    served = {name for method, _, name in rows if method != "*"}
    for name in sorted(served - ROUTES.keys()):
        fail(f"router.cpp serves route {name!r}: add it to ROUTES and to api/openapi.yaml")
    for name in sorted(ROUTES.keys() - served):
        fail(f"ROUTES names {name!r}, which router.cpp no longer serves")
    # Each row is the documented method and path; each /v1 path answers 405 to other methods
    # (its "*" row), and a path outside /v1 has no such row (other methods are no route).
    for method, pattern, name in rows:
        if method == "*" or name not in ROUTES:
            continue
        want_method, want_path = ROUTES[name][0], ROUTES[name][1]
        if method.lower() != want_method or pattern != re.sub(r"\{[^}]+\}", "*", want_path):
            fail(f"router.cpp serves {name!r} as {method} {pattern}, ROUTES says "
                 f"{want_method.upper()} {want_path}")
    other = {pattern for method, pattern, _ in rows if method == "*"}
    for pattern in sorted({pattern for method, pattern, _ in rows if method != "*"}):
        if pattern.startswith("/v1/") != (pattern in other):
            fail(f"router.cpp: {pattern} must have a \"*\" row (405) exactly when under /v1")
    documented = {}
    for path, method, item, op in operations(doc):
        documented[(method, path)] = op
    for name, (method, path, op_id, role, statuses) in ROUTES.items():
        op = documented.pop((method, path), None)
        if op is None:
            fail(f"route {name}: {method.upper()} {path} is not in api/openapi.yaml")
            continue
        where = f"{method.upper()} {path}"
        if op.get("operationId") != op_id:
            fail(f"{where}: operationId {op.get('operationId')!r}, expected {op_id!r}")
        if op.get("x-seatd-route") != name:
            fail(f"{where}: x-seatd-route {op.get('x-seatd-route')!r}, expected {name!r}")
        have = set(op.get("responses", {}))
        if have != statuses:
            fail(f"{where}: statuses {sorted(have)}, the route answers {sorted(statuses)}")
        open_op = op.get("security") == []
        if role == "none" and not open_op:
            fail(f"{where}: needs no token; set security: []")
        if role != "none":
            if open_op:
                fail(f"{where}: needs a token")
            if "401" not in have:
                fail(f"{where}: answers 401")
        if (role == "admin") != ("403" in have):
            fail(f"{where}: 403 must be listed exactly for admin operations")
        if (op.get("x-seatd-role") == "admin") != (role == "admin"):
            fail(f"{where}: x-seatd-role must say admin exactly for admin operations")
    for (method, path) in documented:
        fail(f"api/openapi.yaml documents {method.upper()} {path}, which router.cpp does not serve")
    for path, item in doc["paths"].items():
        other = item.get("x-seatd-other-methods", {})
        if path.startswith("/v1/") and other.get("$ref") != "#/components/responses/MethodNotAllowed":
            fail(f"{path}: x-seatd-other-methods must refer to the MethodNotAllowed answer (405)")
    return len(served)


def http_status_map():
    """errc name -> status, from http_status() in api/json_codec.cpp."""
    text = read("api/json_codec.cpp")
    body = text.split("unsigned http_status(actors::errc code)", 1)[1].split("\n}\n", 1)[0]
    result, pending = {}, []
    for line in body.splitlines():
        pending += re.findall(r"case errc::(\w+):", line)
        returned = re.search(r"return (\d{3});", line)
        if returned:
            for name in pending:
                result[name] = returned.group(1)
            pending = []
    return result


def check_errors(doc):
    schemas = doc["components"]["schemas"]
    enum = set(schemas["ErrorCode"]["enum"])
    for code in sorted(API_MD_CODES - enum):
        fail(f"ErrorCode: API.md's code {code} is missing")
    emitted = set()
    for source in ("api/router.cpp", "common/http_server.cpp", "api/json_codec.cpp"):
        for status, code in re.findall(
                r'(?:\berror|plain_error|error_response)\(\s*(\d{3})u?\s*,\s*"([a-z_]+)"',
                read(source), re.S):
            emitted.add((status, code))
    errc = re.findall(r'^\s*"([a-z_]+)",$', read("actors/inventory_errc.cpp"), re.M)
    errc = [c for c in errc if c != "ok"]
    statuses = http_status_map()
    for code in errc:
        if code not in statuses:
            fail(f"http_status() does not map errc {code}")
        else:
            emitted.add((statuses[code], code))
    codes = {c for _, c in emitted}
    for code in sorted(codes - enum):
        fail(f"ErrorCode: the server answers {code}, which is not in the enum")
    for code in sorted(enum - codes - API_MD_CODES):
        fail(f"ErrorCode: {code} is neither answered by the server nor in API.md")
    # Each (status, code) the sources answer is documented under that status.
    text_by_status = {}
    for path, method, item, op in operations(doc):
        for status, response in op["responses"].items():
            text_by_status.setdefault(status, []).append(yaml.safe_dump(resolve(doc, response)))
    for item in doc["paths"].values():
        if "x-seatd-other-methods" in item:
            text_by_status.setdefault("405", []).append(
                yaml.safe_dump(resolve(doc, item["x-seatd-other-methods"])))
    if "x-seatd-no-route" in doc:
        text_by_status.setdefault("404", []).append(
            yaml.safe_dump(resolve(doc, doc["x-seatd-no-route"])))
    for status, code in sorted(emitted):
        word = re.compile(rf"(?<![a-z_]){code}(?![a-z_])")  # not_found is not event_not_found
        if not any(word.search(t) for t in text_by_status.get(status, [])):
            fail(f"status {status} with {code} is answered by the server but documented nowhere")
    # Error answers use the Error schema; router answers carry the headers.
    if doc.get("x-seatd-no-route", {}).get("$ref") != "#/components/responses/NoSuchRoute":
        fail("x-seatd-no-route must refer to the NoSuchRoute answer (404 not_found)")
    for path, method, item, op in operations(doc):
        answers = list(op["responses"].items())
        if "x-seatd-other-methods" in item:
            answers.append(("405", item["x-seatd-other-methods"]))
        for status, response in answers:
            where = f"{method.upper()} {path} {status}"
            response = resolve(doc, response)
            headers = response.get("headers", {})
            by_router = response.get("x-seatd-answered-by") != "http-server"
            if by_router and "X-Request-Id" not in headers:
                fail(f"{where}: X-Request-Id header missing")
            if by_router and status in ("429", "503") and "Retry-After" not in headers:
                fail(f"{where}: Retry-After header missing")
            if status.startswith(("4", "5")):
                for media, content in response.get("content", {}).items():
                    if content.get("schema", {}).get("$ref") != "#/components/schemas/Error":
                        fail(f"{where}: {media} is not the Error schema")
    return len(emitted)


def request_schemas(doc):
    return {name: s for name, s in doc["components"]["schemas"].items()
            if s.get("additionalProperties") is False}


def check_codec(doc):
    text = read("api/json_codec.cpp")
    readers = []
    for match in re.finditer(
            r"object_reader\s+(\w+)\(\s*\w+\s*,\s*[^,]+,\s*\{([^}]*)\}\s*\)", text, re.S):
        var, fields = match.group(1), set(re.findall(r'"([a-z_]+)"', match.group(2)))
        scope = text[match.end():].split("\n}\n", 1)[0]
        required = set(re.findall(rf'\b{var}\.get\("([a-z_]+)"\)', scope))
        readers.append((var, fields, required))
    if len(readers) < 10:
        fail(f"json_codec.cpp: found only {len(readers)} object_readers; has the code moved?")
    schemas = request_schemas(doc)
    matched = set()
    for var, fields, required in readers:
        names = [n for n, s in schemas.items() if set(s.get("properties", {})) == fields]
        if not names:
            fail(f"json_codec.cpp: object_reader {var} reads {sorted(fields)}; no request schema "
                 "with additionalProperties: false has exactly these fields")
            continue
        if not any(set(schemas[n].get("required", [])) == required for n in names):
            fail(f"json_codec.cpp: object_reader {var} requires {sorted(required)}; schema(s) "
                 f"{names} require {[sorted(schemas[n].get('required', [])) for n in names]}")
        matched |= set(names)
    for name in sorted(schemas.keys() - matched):
        fail(f"schemas.{name} refuses unknown fields but no object_reader in json_codec.cpp "
             "reads exactly its fields")
    return len(readers)


def constants(relative):
    """name -> value of `name = <digits and *>;` lines (C++ digit separators allowed)."""
    found = {}
    for name, value in re.findall(r"(\w+)\s*=\s*([0-9' *]+);", read(relative)):
        expression = value.replace("'", "").strip()
        if re.fullmatch(r"[0-9]+( *\* *[0-9]+)*", expression):
            product = 1
            for factor in expression.split("*"):
                product *= int(factor)
            found[name] = product
    return found


def check_limits(doc):
    s = doc["components"]["schemas"]
    ids = constants("common/identifier.hpp")
    codec = {**constants("api/json_codec.cpp"), **constants("api/json_codec.hpp")}
    layout = constants("actors/event_layout.hpp")
    machine = constants("actors/event_machine.hpp")
    ttl_max = layout["hold_ttl_s_max"]
    price = int(re.search(r"price_minor_max = ([0-9']+)", read("actors/event_layout.hpp"))
                .group(1).replace("'", ""))
    ev = s["EventDefinition"]["properties"]
    list_seats = doc["paths"]["/v1/events/{event_id}/seats"]["get"]
    seats_limit = next((p["schema"] for p in list_seats.get("parameters", [])
                        if p.get("name") == "limit"), {})
    row_seats = s["Row"]["properties"]["seats"]["oneOf"]
    expected = [
        ("Identifier.pattern", s["Identifier"]["pattern"],
         f"^[A-Za-z0-9._:-]{{1,{ids['identifier_length_max']}}}$"),
        ("Identifier.maxLength", s["Identifier"]["maxLength"], ids["identifier_length_max"]),
        ("SeatPart.pattern", s["SeatPart"]["pattern"],
         f"^[A-Za-z0-9._:]{{1,{ids['seat_part_length_max']}}}$"),
        ("SeatPart.maxLength", s["SeatPart"]["maxLength"], ids["seat_part_length_max"]),
        ("SeatId.pattern", s["SeatId"]["pattern"],
         "^" + "-".join([f"[A-Za-z0-9._:]{{1,{ids['seat_part_length_max']}}}"] * 3) + "$"),
        ("HoldRequest.seats.maxItems", s["HoldRequest"]["properties"]["seats"]["maxItems"],
         codec["seats_per_hold_max"]),
        ("BestAvailable.count.maximum", s["BestAvailable"]["properties"]["count"]["maximum"],
         codec["seats_per_hold_max"]),
        ("GaSelector.count.maximum", s["GaSelector"]["properties"]["count"]["maximum"],
         codec["seats_per_hold_max"]),
        ("SeatsRequest.seats.maxItems", s["SeatsRequest"]["properties"]["seats"]["maxItems"],
         codec["seats_per_block_max"]),
        ("listSeats limit maximum", seats_limit.get("maximum"), codec["seats_per_page_max"]),
        ("listSeats limit default", seats_limit.get("default"), codec["seats_per_page_default"]),
        ("SeatList.seats.maxItems", s["SeatList"]["properties"]["seats"]["maxItems"],
         codec["seats_per_page_max"]),
        ("EventDefinition.name.maxLength", ev["name"]["maxLength"], layout["name_length_max"]),
        ("EventDefinition.categories.maxItems", ev["categories"]["maxItems"],
         layout["categories_max"]),
        ("EventDefinition.sections.maxItems", ev["sections"]["maxItems"], layout["sections_max"]),
        ("Section.rows.maxItems", s["Section"]["properties"]["rows"]["maxItems"],
         layout["rows_per_section_max"]),
        ("Row.seats count maximum", row_seats[0]["maximum"], layout["seats_per_row_max"]),
        ("Row.seats labels maxItems", row_seats[1]["maxItems"], layout["seats_per_row_max"]),
        ("EventDefinition.ga_areas.maxItems", ev["ga_areas"]["maxItems"], layout["ga_areas_max"]),
        ("GaArea.capacity.maximum", s["GaArea"]["properties"]["capacity"]["maximum"],
         layout["ga_capacity_max"]),
        ("Category.price_minor.maximum", s["Category"]["properties"]["price_minor"]["maximum"],
         price),
        ("EventDefinition.max_seats_per_customer.maximum", ev["max_seats_per_customer"]["maximum"],
         layout["max_seats_per_customer_max"]),
        ("EventDefinition.max_hold_ttl_s.maximum", ev["max_hold_ttl_s"]["maximum"], ttl_max),
        ("EventDefinition.default_hold_ttl_s.maximum", ev["default_hold_ttl_s"]["maximum"],
         ttl_max),
        ("HoldRequest.ttl_s.maximum", s["HoldRequest"]["properties"]["ttl_s"]["maximum"], ttl_max),
        ("ExtendRequest.ttl_s.maximum", s["ExtendRequest"]["properties"]["ttl_s"]["maximum"],
         ttl_max),
        ("ConfirmRequest.payment_ref.maxLength",
         s["ConfirmRequest"]["properties"]["payment_ref"]["maxLength"],
         machine["payment_ref_length_max"]),
        ("CancelRequest.reason.maxLength", s["CancelRequest"]["properties"]["reason"]["maxLength"],
         machine["cancel_reason_length_max"]),
    ]
    spec = read("actors/event_spec.hpp")
    for field in ("max_seats_per_customer", "default_hold_ttl_s", "max_hold_ttl_s"):
        default = re.search(rf"{field} = (\d+);", spec)
        expected.append((f"EventDefinition.{field}.default", ev[field].get("default"),
                         int(default.group(1)) if default else None))
    for name, have, want in expected:
        if have != want:
            fail(f"{name} is {have!r}, the code says {want!r}")
    return len(expected)


# ---- live ------------------------------------------------------------------------------

class Live:
    def __init__(self, doc, base, admin, gateway):
        self.doc, self.base, self.tokens = doc, base.rstrip("/"), {"admin": admin,
                                                                   "gateway": gateway}
        self.templates = []
        for path, method, item, op in operations(doc):
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
            self.templates.append((re.compile(pattern), method, path, item, op))
        self.checked = 0

    def call(self, method, target, body=None, who="gateway", want=None, headers=None,
             content_type="application/json"):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        request = urllib.request.Request(self.base + target, data=data, method=method)
        if who in self.tokens:
            request.add_header("Authorization", "Bearer " + self.tokens[who])
        elif who:
            request.add_header("Authorization", "Bearer " + who)
        if data is not None and content_type:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                status, answer_headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, answer_headers, raw = e.code, e.headers, e.read()
        except (OSError, http.client.HTTPException) as e:
            fail(f"live: {method} {target}: no answer: {e}")
            return 0, None
        self.check(method, target, status, answer_headers, raw, want)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def oversized(self, target, length):
        """Announces a body over the limit and sends none: the server answers 413 from the
        headers alone, so the answer cannot race a reset of an unread body."""
        url = urllib.parse.urlsplit(self.base)
        connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
        connection.putrequest("POST", target)
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Authorization", "Bearer " + self.tokens["gateway"])
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        r = connection.getresponse()
        self.check("POST", target, r.status, r.headers, r.read(), 413)
        connection.close()

    def check(self, method, target, status, headers, raw, want):
        self.checked += 1
        name = f"{method} {target} -> {status}"
        if want is not None and status != want:
            fail(f"live: {name}, expected {want}: {raw[:200]!r}")
        path = target.split("?", 1)[0]
        matches = [t for t in self.templates if t[0].match(path)]
        ops = [t for t in matches if t[1] == method.lower()]
        if ops:
            response = ops[0][4]["responses"].get(str(status))
        elif matches and path.startswith("/v1/"):
            response = matches[0][3].get("x-seatd-other-methods")
        else:
            response = self.doc.get("x-seatd-no-route")
        if response is None:
            fail(f"live: {name}: status not documented for this operation")
            return
        response = resolve(self.doc, response)
        for header, spec in response.get("headers", {}).items():
            if resolve(self.doc, spec).get("required") and header not in headers:
                fail(f"live: {name}: header {header} missing")
        content = response.get("content", {})
        media = (headers.get("Content-Type") or "").split(";")[0].strip()
        documented = {m.split(";")[0].strip(): c for m, c in content.items()}
        if media not in documented:
            fail(f"live: {name}: Content-Type {media!r} not documented")
            return
        if media == "application/json":
            try:
                value = json.loads(raw)
            except ValueError:
                fail(f"live: {name}: body is not JSON")
                return
            for error in validate(self.doc, documented[media]["schema"], value):
                fail(f"live: {name}: {error}")


def run_live(doc, base, admin, gateway):
    live = Live(doc, base, admin, gateway)
    c = live.call
    ev = "openapi-" + str(int(time.time() * 1000))
    event = {
        "name": "OpenAPI check", "starts_at": "2027-03-01T10:00:00Z",
        "categories": [{"id": "VIP", "price_minor": 1000, "currency": "KRW"},
                       {"id": "GA", "price_minor": 500, "currency": "KRW"}],
        "sections": [{"id": "A", "rows": [{"id": "1", "seats": 10, "category": "VIP"},
                                          {"id": "2", "seats": ["1", "2", "3"],
                                           "category": "VIP"}]}],
        "ga_areas": [{"id": "FLOOR", "capacity": 3, "category": "GA"}],
        "max_seats_per_customer": 4, "default_hold_ttl_s": 600, "max_hold_ttl_s": 1800,
    }
    base_event = f"/v1/events/{ev}"
    c("GET", "/healthz", who=None, want=200)
    c("GET", "/readyz", who=None, want=200)
    c("GET", "/metrics", who=None, want=200)
    c("GET", "/v1/cluster", who=None, want=401)
    c("GET", "/v1/cluster", who="not-a-token", want=401)
    c("GET", "/v1/cluster", who="gateway", want=403)
    c("GET", "/v1/cluster", who="admin", want=200)
    c("GET", "/v1/cluster?event=any-event", who="admin", want=200)
    c("GET", "/v1/cluster?event=bad%20id", who="admin", want=400)
    c("POST", "/v1/cluster", who="admin", body={}, want=405)
    c("GET", "/v1/nothing", want=404)
    c("POST", "/healthz", {}, who=None, want=404)
    c("GET", base_event, want=404)
    c("PUT", base_event, event, who="gateway", want=403)
    c("PUT", "/v1/events/bad%20id", event, who="admin", want=400)
    c("PUT", base_event, b"name=x", who="admin", content_type="text/plain", want=415)
    c("PUT", base_event, {**event, "surprise": 1}, who="admin", want=400)
    c("PUT", base_event, event, who="admin", want=201)
    c("PUT", base_event, event, who="admin", want=200)
    c("PUT", base_event, {**event, "name": "other"}, who="admin", want=409)
    c("PATCH", base_event, {}, want=405)
    c("GET", base_event, want=200, headers={"X-Request-Id": "live-1"})
    c("GET", base_event + "/seats", want=200)
    c("GET", base_event + "/seats?section=A", want=200)
    c("GET", base_event + "/seats?section=Z", want=400)
    # The map in pages: 13 seats, 5 at a time, every seat once; then bad parameters.
    seen, after = [], None
    for _ in range(4):
        status, page = c("GET", base_event + "/seats?section=A&limit=5" +
                         (f"&after={after}" if after else ""), want=200)
        if not isinstance(page, dict):
            break
        seen += [seat.get("id") for seat in page.get("seats", [])]
        after = page.get("next")
        if after is None:
            break
    if len(seen) != 13 or len(set(seen)) != 13 or after is not None:
        fail(f"live: the pages of 5 of {ev}'s 13 seats gave {seen}, next {after!r}")
    c("GET", base_event + "/seats?limit=0", want=400)
    c("GET", base_event + "/seats?limit=10001", want=400)
    c("GET", base_event + "/seats?limit=2&limit=2", want=400)
    c("GET", base_event + "/seats?after=not-a-cursor", want=400)
    c("GET", "/v1/events/no-such-event-here/seats?limit=0", want=400)
    status, page = c("GET", base_event + "/seats?limit=2", want=200)
    cursor = page.get("next") if isinstance(page, dict) else None
    c("GET", base_event + f"/seats?section=A&after={cursor}", want=400)
    c("POST", base_event + "/seats/block", {"seats": ["A-1-10"]}, who="gateway", want=403)
    c("POST", base_event + "/seats/block", {"seats": ["A-1-10"]}, who="admin", want=200)
    c("POST", base_event + "/seats/block", {"seats": ["A-9-9"]}, who="admin", want=400)
    c("POST", base_event + "/seats/unblock", {"seats": ["A-1-10"]}, who="admin", want=200)
    status, hold = c("POST", base_event + "/holds",
                     {"customer_id": "c1", "seats": ["A-1-1", "A-1-2"], "idempotency_key": "k1"},
                     want=201)
    c("POST", base_event + "/holds",
      {"customer_id": "c1", "seats": ["A-1-1", "A-1-2"], "idempotency_key": "k1"}, want=201)
    c("POST", base_event + "/holds", {"customer_id": "c1", "seats": ["A-1-3"],
                                      "idempotency_key": "k1"}, want=409)
    c("POST", base_event + "/holds", {"customer_id": "c2", "seats": ["A-1-1"]}, want=409)
    c("POST", base_event + "/seats/block", {"seats": ["A-1-1"]}, who="admin", want=409)
    c("POST", base_event + "/holds", {"customer_id": "c1", "seats": ["A-1-3", "A-1-4", "A-1-5"]},
      want=422)
    c("POST", base_event + "/holds", {"customer_id": "c3", "seats": ["A-7-1"]}, want=400)
    c("POST", base_event + "/holds", {"customer_id": "c3", "best_available": {"count": 2}},
      want=201)
    c("POST", base_event + "/holds", {"customer_id": "c4", "best_available": {"count": 4,
                                      "section": "A", "adjacent": True, "category": "GA"}},
      want=409)
    c("POST", base_event + "/holds", {"customer_id": "c5", "ga": {"area": "FLOOR", "count": 3}},
      want=201)
    c("POST", base_event + "/holds", {"customer_id": "c6", "ga": {"area": "FLOOR", "count": 1}},
      want=409)
    hold_id = hold.get("hold_id", "missing") if isinstance(hold, dict) else "missing"
    hold_path = f"{base_event}/holds/{hold_id}"
    c("GET", hold_path, want=200)
    c("GET", f"{base_event}/holds/h999-00000000", want=404)
    c("PUT", hold_path, {}, want=405)
    c("POST", hold_path + "/extend", {"ttl_s": 300}, want=200)
    c("POST", hold_path + "/extend", {"ttl_s": 999999}, want=400)
    status, reservation = c("POST", hold_path + "/confirm", {"payment_ref": "pay_1"}, want=201)
    c("POST", hold_path + "/confirm", {"payment_ref": "pay_1"}, want=200)
    c("POST", hold_path + "/confirm", {"payment_ref": "pay_2"}, want=409)
    c("GET", hold_path, want=200)
    c("DELETE", hold_path, want=409)
    c("POST", hold_path + "/extend", {"ttl_s": 300}, want=409)
    rid = reservation.get("reservation_id", "missing") if isinstance(reservation, dict) else "x"
    reservation_path = f"{base_event}/reservations/{rid}"
    c("GET", reservation_path, want=200)
    c("GET", f"{base_event}/reservations/r0-0-0", want=404)
    c("GET", f"{base_event}/reservations", want=404)
    c("POST", reservation_path + "/cancel", {"reason": "refund"}, want=200)
    c("POST", reservation_path + "/cancel", None, want=409)
    status, other = c("POST", base_event + "/holds", {"customer_id": "c7", "seats": ["A-2-1"]},
                      want=201)
    other_path = f"{base_event}/holds/{other.get('hold_id', 'x') if isinstance(other, dict) else 'x'}"
    c("DELETE", other_path, want=200)
    c("DELETE", other_path, b"{}", want=200)
    c("POST", other_path + "/confirm", {"payment_ref": "p"}, want=409)
    status, short = c("POST", base_event + "/holds",
                      {"customer_id": "c8", "seats": ["A-2-2"], "ttl_s": 1}, want=201)
    time.sleep(1.5)
    short_path = f"{base_event}/holds/{short.get('hold_id', 'x') if isinstance(short, dict) else 'x'}"
    c("POST", short_path + "/confirm", {"payment_ref": "p"}, want=410)
    c("DELETE", short_path, want=410)
    live.oversized(base_event + "/holds", 64 << 20)
    return live.checked


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default=os.path.join(ROOT, "api", "openapi.yaml"))
    parser.add_argument("--live", metavar="BASE_URL", help="also drive a running seatd")
    parser.add_argument("--admin-token", default=os.environ.get("SEATD_ADMIN_TOKEN", ""))
    parser.add_argument("--gateway-token", default=os.environ.get("SEATD_GATEWAY_TOKEN", ""))
    args = parser.parse_args()
    with open(args.spec, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    check_document(doc)
    routes = check_routes(doc)
    codes = check_errors(doc)
    readers = check_codec(doc)
    limits = check_limits(doc)
    check_api_md(doc)
    examples = check_examples(doc)
    summary = (f"{routes} routes, {codes} (status, code) answers, {readers} codec readers, "
               f"{limits} limits, {examples} examples, {len(MUST_NOT_VALIDATE)} refused bodies")
    if args.live:
        summary += f", {run_live(doc, args.live, args.admin_token, args.gateway_token)} live answers"
    for finding in findings:
        print("check-openapi: " + finding, file=sys.stderr)
    if findings:
        print(f"check-openapi: FAILED, {len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"check-openapi: ok ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
