"""Request validation from the spec, with every invalid field named at once.

connexion validates parameters against the spec's schemas but stops at the
first error and answers 400; the contract wants one 422 naming each invalid
field. Two connexion extension points fix that:

* :class:`ContractURIParser` (``uri_parser_class``): ``group_by`` is declared
  ``style: form, explode: false`` (the official SDK's comma form), for which
  connexion keeps only the *last* repeated value; the contract also accepts
  the repeated form and any mix, so every occurrence is merged.
* :class:`ContractParameterValidator` (``validator_map["parameter"]``):
  (a) checks every query and path parameter against its schema and collects
  all errors; (b) reads ``format: date-time`` with the contract's own grammar
  (a date-time without offset is valid: it is local time in ``tz``), where
  RFC 3339 checkers would reject it; (c) then runs the core's
  :func:`resolve_query` on the text the request wrote, which adds the errors
  no schema can see (unknown zone, ``start >= end``, out of range) for the
  fields that passed (a). The resolved :class:`UsageQuery` goes to the
  handler through connexion's request context, so nothing is parsed twice.

The literal text ``null`` of a nullable parameter means "absent"; an empty
value is invalid; unknown parameters are ignored. ``group_by`` is nullable by
the spec's ``x-usagekit-nullable`` rather than its schema's ``nullable``, which
Prism and Schemathesis misread on a comma-separated array.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.uri_parsing import QUERY_STRING_DELIMITERS, OpenAPIURIParser
from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator, FormatChecker
from starlette.datastructures import QueryParams

from usagekit.mock.core.errors import FieldError, QueryError
from usagekit.mock.core.instants import US, parse_datetime
from usagekit.mock.core.query import (
    MAX_GROUP_BY,
    MAX_LIMIT_DIGITS,
    RawQuery,
    UsageQuery,
    resolve_query,
)

from .problems import validation_error

__all__ = [
    "RESOLVED",
    "ContractParameterValidator",
    "ContractURIParser",
    "Resolved",
    "SchemaChecks",
]

#: The key, in the ASGI scope's ``extensions``, of the request's :class:`Resolved`.
RESOLVED = "usagekit.resolved"
#: The key, in connexion's request context, of the resolved query (a handler argument).
QUERY_CONTEXT = "usage_query"
NULL = "null"
NULLABLE = "x-usagekit-nullable"


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """What validation made of a request; the front cache keys its entries on it."""

    query: UsageQuery
    #: The wall-clock second the query's default ``end`` was read at; ``None`` when
    #: the answer does not depend on the clock (pinned ``--now`` or an explicit ``end``).
    second: int | None


class ContractURIParser(OpenAPIURIParser):
    """Merges repeated *and* delimited array values: ``a,b&a=c`` is ``[a, b, c]``."""

    @staticmethod
    def _resolve_param_duplicates(values: Any, param_defn: Mapping[str, Any], _in: str) -> Any:
        if isinstance(values, str):  # a path parameter: one value
            return values
        style = param_defn.get("style", OpenAPIURIParser.style_defaults[_in])
        return QUERY_STRING_DELIMITERS.get(style, ",").join(values)

    def resolve_query(self, query_data: Mapping[str, Any]) -> dict[str, Any]:
        # connexion reads a lone `null` as absent only where the schema is `nullable`
        absent = [
            name
            for name, values in query_data.items()
            if list(values) == [NULL] and _nullable(self.param_defns.get(name, {}))
        ]
        rest = {
            name: [_unread(v) for v in values] if name in self._integers else values
            for name, values in query_data.items()
            if name not in absent
        }
        return super().resolve_query(rest) | dict.fromkeys(absent)

    @functools.cached_property
    def _integers(self) -> frozenset[str]:
        return frozenset(
            name
            for name, defn in self.param_defns.items()
            if defn.get("schema", {}).get("type") == "integer"
        )

    @staticmethod
    def _split(value: str, param_defn: Mapping[str, Any], _in: str) -> list[str]:
        # One item past the cap is enough for maxItems to fail: a comma bomb costs its
        # length, never one list item (and one schema check) per comma.
        style = param_defn.get("style", OpenAPIURIParser.style_defaults[_in])
        delimiter = QUERY_STRING_DELIMITERS.get(style, ",")
        return value.split(delimiter, MAX_GROUP_BY + 1)[: MAX_GROUP_BY + 1]


def _unread(text: str) -> str:
    """An integer's text, cut (and so no longer an integer) past MAX_LIMIT_DIGITS.

    connexion would ``int()`` any length -- a 4,000-digit number costs milliseconds
    to convert and print back in the error, and 4,301 digits raise.
    """
    if len(text) <= MAX_LIMIT_DIGITS:
        return text
    return f"{text[:MAX_LIMIT_DIGITS]}..."


def _nullable(param: Mapping[str, Any]) -> bool:
    return bool(param.get(NULLABLE) or param.get("schema", {}).get("nullable"))


def _datetime(text: object) -> bool:
    if isinstance(text, str):
        parse_datetime(text)  # raises ValueError with the reason
    return True


class SchemaChecks:
    """Compiled jsonschema validators of the operation's parameters, built once per app."""

    def __init__(self) -> None:
        self.format_checker = FormatChecker(())
        self.format_checker.checks("date-time", raises=ValueError)(_datetime)
        self._compiled: dict[tuple[str, str], Draft4Validator] = {}

    def errors(self, param: Mapping[str, Any], value: Any) -> str | None:
        """Every schema error of one parameter value, as one message (``None`` if valid)."""
        where = (param["in"], param["name"])
        validator = self._compiled.get(where)
        if validator is None:
            validator = Draft4Validator(param.get("schema", {}), format_checker=self.format_checker)
            self._compiled[where] = validator
        messages = [
            str(error.cause) if error.cause is not None else error.message
            for error in validator.iter_errors(value)
        ]
        return "; ".join(dict.fromkeys(messages)) or None


class ContractParameterValidator(ParameterValidator):
    """Collects every invalid parameter into one 422; see the module docstring.

    connexion builds one per request with its own arguments; the app binds
    ``checks`` and ``clock`` with :func:`functools.partial`.
    """

    def __init__(
        self,
        parameters: Sequence[Mapping[str, Any]],
        uri_parser: OpenAPIURIParser,
        strict_validation: bool = False,
        security_query_params: Sequence[str] | None = None,
        *,
        checks: SchemaChecks,
        clock: Callable[[], int],
        pinned: bool,
    ) -> None:
        super().__init__(parameters, uri_parser, strict_validation, security_query_params)
        self.checks = checks
        self.clock = clock
        self.pinned = pinned

    def validate_request(self, request: ConnexionRequest) -> None:
        errors: dict[str, str] = {}
        order: list[str] = []
        for where in ("path", "query"):
            values = request.path_params if where == "path" else request.query_params
            for param in self.parameters.get(where, []):
                field = f"{where}.{param['name']}"
                order.append(field)
                message = self._check(param, values.get(param["name"]))
                if message:
                    errors[field] = message

        raw = self._raw_query(request)
        now = self.clock()
        token = request.context.get("token_info") or {}
        try:
            query = resolve_query(raw, account_id=token.get("account_id", ""), now=now)
        except QueryError as exc:
            for error in exc.errors:
                errors.setdefault(error.field, error.message)
            query = None
        if errors:
            rank = {field: i for i, field in enumerate(order)}
            ordered = sorted(errors, key=lambda f: rank.get(f, len(rank)))
            raise validation_error([FieldError(field=f, message=errors[f]) for f in ordered])

        request.context[QUERY_CONTEXT] = query
        second = None if self.pinned or raw.end is not None else now // US
        request.scope.setdefault("extensions", {})[RESOLVED] = Resolved(query=query, second=second)

    def _check(self, param: Mapping[str, Any], value: Any) -> str | None:
        if value is None or (value == NULL and _nullable(param)):
            if param.get("required"):
                return "is required"
            return None
        return self.checks.errors(param, value)

    def _raw_query(self, request: ConnexionRequest) -> RawQuery:
        """The parameters as the request wrote them (last of repeated scalars, as connexion)."""
        written = QueryParams(request.scope.get("query_string", b""))

        def text(name: str) -> str | None:
            values = written.getlist(name)
            if not values or values[-1] == NULL:
                return None
            return values[-1]

        return RawQuery(
            start=text("start"),
            end=text("end"),
            granularity=text("granularity"),
            # parsed by ContractURIParser: both forms merged, split, `null` dropped
            group_by=request.query_params.get("group_by"),
            tz=text("tz"),
            limit=text("limit"),
        )
