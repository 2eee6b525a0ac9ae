"""The HTTP rule under every answer: a client can decode it (RFC 9110 8.4, 12.5.3).

Judged on every exchange, whoever carried it: ``check``'s own requests, a
proxied answer, a replayed HAR entry -- one reading of the codings for all
three (:mod:`usagekit.conformance.codings`).
"""

from __future__ import annotations

from usagekit.conformance.codings import coding_problem, sent_accept_encoding
from usagekit.conformance.failures import WrongValue
from usagekit.conformance.profiles import Profile
from usagekit.conformance.registry import Verdict, response_rule
from usagekit.conformance.view import ExchangeView

__all__ = ["content_encoding_readable"]


@response_rule(Profile.CONTRACT)
def content_encoding_readable(view: ExchangeView) -> Verdict:
    """An answer's Content-Encoding is one the request accepted, and its body is that coding.

    Accepts: gzip (and x-gzip), deflate with zlib's wrapper or raw (as browsers read it),
    identity, codings listed in any letter case and spacing, and any coding when the
    request sent no Accept-Encoding (RFC 9110 12.5.3). An answer in a coding the request
    accepted but the kit does not decode (br, zstd) is not judged by any rule. Judged on
    every answer: one sent as it is (no Content-Encoding) holds.
    """
    exchange = view.exchange
    coding = exchange.headers.get("content-encoding")
    if coding is None:
        return
    problem = coding_problem(
        coding,
        sent_accept_encoding(exchange.sent_headers),
        exchange.undecoded,
    )
    if problem:
        raise WrongValue(problem, exchanges=(exchange,))
