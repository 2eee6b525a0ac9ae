"""The contract itself: valid OpenAPI 3.0.3, valid examples, and faithful to the published page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from usagekit.mock.core.query import (
    DEFAULT_GRANULARITY,
    DEFAULT_LIMIT,
    DEFAULT_SPAN,
    DEFAULT_TZ,
    MAX_LIMIT,
    MIN_LIMIT,
    Dimension,
    Granularity,
)
from usagekit.mock.spec import OPERATION_PATH, error_codes, load_spec, spec_path

SEED = Path(__file__).parent / "data" / "usage-analytics-endpoint.txt"
#: Where the spec deliberately differs from the page, and why.
DIFFERENCES = Path(__file__).parent / "data" / "page-differences.yaml"
SPEC_URI = "urn:usagekit:openapi"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture(scope="module")
def operation(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["paths"][OPERATION_PATH]["get"]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def test_the_repository_spec_is_the_packaged_spec() -> None:
    repository = Path(__file__).parents[1] / "openapi.yaml"
    assert spec_path().read_bytes() == repository.read_bytes()


def test_spec_is_valid_openapi_3_0_3(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.0.3"  # connexion 3 refuses 3.1
    validate(spec)


def examples(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every example in the spec: (where, schema, value)."""
    for name, parameter in spec["components"]["parameters"].items():
        if "example" in parameter:
            yield f"parameters/{name}", parameter["schema"], parameter["example"]
        for key, example in parameter.get("examples", {}).items():
            yield f"parameters/{name}/{key}", parameter["schema"], example["value"]
    responses = dict(spec["components"]["responses"])
    for status, response in spec["paths"][OPERATION_PATH]["get"]["responses"].items():
        responses[f"get {status}"] = response
    for name, response in responses.items():
        for media in resolve(spec, response).get("content", {}).values():
            if "example" in media:
                yield f"responses/{name}", media["schema"], media["example"]
            for key, example in media.get("examples", {}).items():
                yield f"responses/{name}/{key}", media["schema"], example["value"]


EXAMPLES = list(examples(load_spec()))


def test_every_response_has_an_example(spec: dict[str, Any], operation: dict[str, Any]) -> None:
    assert {"200", "400", "401", "403", "404", "405", "422", "429", "500", "503"} <= set(
        operation["responses"]
    )
    for status, response in operation["responses"].items():
        media = resolve(spec, response)["content"]["application/json"]
        assert "example" in media or media.get("examples"), status


@pytest.mark.parametrize(("where", "schema", "value"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_validates_against_its_schema(
    spec: dict[str, Any], where: str, schema: dict[str, Any], value: Any
) -> None:
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, DRAFT4))
    validator = OAS30Validator(
        _absolute_refs(schema), registry=registry, format_checker=oas30_format_checker
    )
    errors = [error.message for error in validator.iter_errors(value)]
    assert not errors, f"{where}: {errors}"


def _absolute_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (f"{SPEC_URI}{v}" if k == "$ref" else _absolute_refs(v)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(v) for v in node]
    return node


# -- faithful to the published reference page ---------------------------------


def published_parameters() -> dict[str, dict[str, Any]]:
    """The query parameters as the vendor's reference page states them."""
    text = SEED.read_text(encoding="utf-8")
    section = text.split("Query Parameters", 1)[1].split("\nResponse\n", 1)[0]
    lines = section.strip().splitlines()
    # A parameter starts with its name on a line of its own, followed by its type.
    starts = [
        i
        for i in range(len(lines) - 1)
        if re.fullmatch(r"[a-z_]+", lines[i])
        and re.match(r"(string|integer|number|boolean|enum)\b", lines[i + 1])
    ]
    found: dict[str, dict[str, Any]] = {}
    for begin, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        found[lines[begin]] = _published_entry(lines[begin:end], "\n".join(lines[begin:end]))
    return found


def _published_entry(lines: list[str], block: str) -> dict[str, Any]:
    kind = lines[1]
    entry: dict[str, Any] = {"nullable": kind.endswith("| null"), "kind": kind}
    for i, line in enumerate(lines):
        if line.startswith("default:"):
            entry["default"] = line.removeprefix("default:")
        if line == "Available options:":
            entry["enum"] = [v.strip(",") for v in lines[i + 1 :] if v.strip(",")]
        if match := re.match(r"Required range: (\d+) <= x <= (\d+)", line):
            entry["range"] = (int(match[1]), int(match[2]))
    defaults = re.search(r"\(default ([^)]+)\)|Defaults to (\w+)", block)
    if defaults and "default" not in entry:
        entry["default"] = defaults[1] or defaults[2]
    return entry


def spec_parameters(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parameters = (resolve(spec, p) for p in operation["parameters"])
    return {p["name"]: p for p in parameters if p["in"] == "query"}


def page_differences() -> dict[str, dict[str, dict[str, Any]]]:
    return yaml.safe_load(DIFFERENCES.read_text(encoding="utf-8"))


def test_page_differences_are_ones_the_comparison_reads() -> None:
    for name, attributes in page_differences().items():
        assert name in published_parameters(), name
        assert set(attributes) <= {"nullable"}, name
        for difference in attributes.values():
            assert difference["page"] != difference["spec"]
            assert difference["why"].strip()


def test_seed_page_parses() -> None:
    published = published_parameters()
    assert list(published) == ["start", "end", "granularity", "group_by", "tz", "limit"]


def test_spec_has_exactly_the_published_query_parameters(spec, operation) -> None:
    assert set(spec_parameters(spec, operation)) == set(published_parameters())


@pytest.mark.parametrize("name", ["start", "end", "granularity", "group_by", "tz", "limit"])
def test_parameter_matches_the_published_page(spec, operation, name: str) -> None:
    published = published_parameters()[name]
    parameter = spec_parameters(spec, operation)[name]
    schema = resolve(spec, parameter["schema"])
    assert parameter.get("required", False) is False
    nullable = page_differences().get(name, {}).get("nullable")
    if nullable is None:
        assert bool(schema.get("nullable")) is published["nullable"]
    else:  # deliberate, and still true of both sides
        assert published["nullable"] is nullable["page"]
        assert bool(schema.get("nullable")) is nullable["spec"]
        assert parameter[nullable["kept_by"]] is True
    if "enum" in published:
        items = resolve(spec, schema["items"]) if schema["type"] == "array" else schema
        assert items["enum"] == published["enum"]
    if "range" in published:
        assert (schema["minimum"], schema["maximum"]) == published["range"]
    if published["kind"].startswith("string<date-time>"):
        assert schema == {"type": "string", "format": "date-time", "nullable": True}
    if name == "start":
        assert int(published["default"]) * 86_400 * 10**6 == DEFAULT_SPAN  # "30 days before end"
    if name == "limit":
        assert schema["default"] == int(published["default"]) == DEFAULT_LIMIT
    elif name in ("granularity", "tz"):
        assert schema["default"] == published["default"]
    if name == "group_by":
        # the official SDK sends the comma form; both forms are accepted
        assert (parameter["style"], parameter["explode"]) == ("form", False)


def test_the_core_agrees_with_the_spec(spec) -> None:
    schemas = spec["components"]["schemas"]
    limit = spec["components"]["parameters"]["Limit"]["schema"]
    assert schemas["Granularity"]["enum"] == [g.value for g in Granularity]
    assert schemas["Granularity"]["default"] == DEFAULT_GRANULARITY.value
    assert schemas["Dimension"]["enum"] == [d.value for d in Dimension]
    assert spec["components"]["parameters"]["Tz"]["schema"]["default"] == DEFAULT_TZ
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (
        MIN_LIMIT,
        MAX_LIMIT,
        DEFAULT_LIMIT,
    )


def test_published_response_fields(spec) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["UsageMeta"]["required"]) == {"account_id", "start", "end", "granularity"}
    assert set(schemas["UsageMeta"]["properties"]) == {
        "account_id",
        "start",
        "end",
        "granularity",
        "group_by",
        "tz",
    }
    assert set(schemas["UsageValue"]["required"]) == {"seconds", "conversations"}
    for field in ("seconds", "conversations"):
        assert schemas["UsageValue"]["properties"][field]["type"] == "integer"
        assert schemas["UsageValue"]["properties"][field]["minimum"] == 0
    assert schemas["UsageValue"]["properties"]["dimensions"]["additionalProperties"] == {
        "type": "string"
    }
    assert set(schemas["Error"]["required"]) == {"code", "message"}


def test_security_is_the_api_key_header(spec) -> None:
    scheme = spec["components"]["securitySchemes"]["ApiKeyAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
    assert spec["security"] == [{"ApiKeyAuth": []}]
    account = spec["components"]["parameters"]["AccountId"]
    assert "me" in account["description"]


def test_every_error_status_has_its_code_in_the_examples() -> None:
    assert error_codes() == {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        422: "validation_error",
        429: "rate_limit_exceeded",
        500: "internal_error",
        503: "service_unavailable",
    }
