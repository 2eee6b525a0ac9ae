"""A gzip or deflate coding undone to at most a given size: the kit's client and the proxy.

A few MiB of gzip are GiBs of zeros: zlib's ``max_length`` stops the inflation
one byte past the bound, instead of after the whole of it.
"""

from __future__ import annotations

import zlib

__all__ = ["WBITS", "InflatesPast", "NotThatCoding", "inflated"]

#: zlib's window bits of each coding: gzip's; deflate's zlib wrapper, or (as some servers
#: send it) raw deflate.
WBITS = {
    "gzip": (zlib.MAX_WBITS | 16,),
    "x-gzip": (zlib.MAX_WBITS | 16,),
    "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS),
}


class NotThatCoding(ValueError):
    """The body does not read as the coding it names."""


class InflatesPast(ValueError):
    """The body inflates past the bound."""


def inflated(data: bytes, name: str, limit: int) -> bytes:
    """``data`` with the coding ``name`` (a key of :data:`WBITS`) undone, by the first of its
    window bits that reads it; :class:`NotThatCoding`, or :class:`InflatesPast` past ``limit``."""
    for bits in WBITS[name]:
        try:
            body = zlib.decompressobj(bits).decompress(data, limit + 1)
            break
        except zlib.error as exc:
            error = exc
    else:
        raise NotThatCoding(f"the body is not the {name} it says it is: {error}")
    if len(body) > limit:
        raise InflatesPast(name)
    return body
