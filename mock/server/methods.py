"""What a request with a method the parser does not know is answered.

httptools (llhttp) knows a fixed list of methods and refuses any other token --
``FOO``, or ``get``, since methods are case-sensitive (RFC 9110, 9.1) -- before it
reads the path, so uvicorn only hears of a parser error. Such a request is well
formed all the same, and the contract names its answer: any method other than GET
on the endpoint is 405 with ``Allow: GET``, and a path that does not name the
endpoint is 404, as for a method the parser knows. RFC 9110's 501 for a method the
server does not recognise is a SHOULD, and the contract has no error code for it.

The parser stops at the unknown method, so the request line is read here from the
bytes that were fed: the first line at the start of a request (the read's start,
after any empty lines, or the end of a head) whose method the parser refuses.
"""

from __future__ import annotations

import re

import httptools

from .logs import escape
from .problems import Problem, method_not_allowed, not_found
from .routes import names_operation, path_of

__all__ = ["unknown_method"]

# A token (RFC 9110, 5.6.2) of at most 32 characters, an origin-form target of at most
# 1 KiB of path (RequestLimits' cap) and any query, and an HTTP/1 version.
_REQUEST_LINE = re.compile(
    rb"(?:\A|\r\n\r\n)(?:\r?\n)*([-!#$%&'*+.^_`|~0-9A-Za-z]{1,32}) "
    rb"(/[^ \r\n?#]{0,1023})(?:\?[^ \r\n#]*)? HTTP/1\.[01]\r?\n"
)


class _Ignored:
    """A parser protocol without callbacks: only whether the method is known is asked."""


def unknown_method(data: bytes) -> Problem | None:
    """The contract's answer to the request in ``data`` whose method the parser refused,
    or ``None`` when no such request line is found there (it began in an earlier read)."""
    for line in _REQUEST_LINE.finditer(data):
        try:
            httptools.HttpRequestParser(_Ignored()).feed_data(line.group(1) + b" / HTTP/1.1\r\n")
        except httptools.HttpParserInvalidMethodError:
            method = line.group(1).decode("ascii")
            path = path_of(line.group(2).decode("ascii"))
            if names_operation(path):
                return method_not_allowed(method)
            return not_found(escape(path))
        except httptools.HttpParserError:
            continue
    return None
