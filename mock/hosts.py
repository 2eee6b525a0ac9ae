"""Which names a server answers for: a ``Host`` allow-list against DNS rebinding.

A page whose owner points its DNS name at 127.0.0.1 once it has loaded (DNS
rebinding) is same-origin with a server on loopback: the browser sends its
requests there with the page's own name as ``Host`` and lets it read every
answer -- CORS never applies. So a server bound to loopback answers only a
``Host`` that no page can rebind: ``localhost`` and ``*.localhost`` (RFC 6761:
never resolved by DNS), any IP address (a literal is not looked up), the name
it was bound to, and the names of ``--allowed-host`` (``*.app.test`` for the
names under it, ``.app.test`` for it and them, ``*`` or ``all`` for any) --
as Vite's ``server.allowedHosts`` and webpack-dev-server's ``allowedHosts``
do. A server bound elsewhere (``0.0.0.0``, a LAN address, a container's
service name) answers any ``Host`` unless ``--allowed-host`` is given. A request
without ``Host`` (HTTP/1.0) is no browser's, and is answered.

starlette's ``TrustedHostMiddleware`` is an ASGI middleware: the servers answer
most requests before any ASGI app runs (their protocols' ``at_once``), so the
rule is applied where every request passes, before that:
:class:`usagekit.mock.whole.WholeAnswers`, which both servers' protocols list,
answers a refused request with :func:`refused`. And starlette's refuses a request
without ``Host``, answers in plain text, and knows no address literals.

The mock's server and the kit's proxy share this; neither may import the other
(ARCHITECTURE.md): the standard library only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from functools import partial
from typing import Any

__all__ = ["ANY_HOST", "HostRule", "allowed_names", "bound_to_loopback", "refusal_body", "refused"]

#: ``--allowed-host`` values that switch the check off.
ANY_HOST = frozenset({"*", "all"})
#: Allowed values remembered per process (each at most :data:`_KEPT_BYTES`), so that a
#: repeated ``Host`` costs one set look-up; what is refused is never remembered.
_KEPT = 64
_KEPT_BYTES = 300
_NAME = re.compile(r"(?:\*\.|\.)?(?:[a-z0-9_-]+\.)*[a-z0-9_-]+")

logger = logging.getLogger("usagekit.hosts")
_warned = False

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def allowed_names(values: Iterable[str]) -> tuple[str, ...]:
    """``--allowed-host`` values as they are matched (lower case, no trailing dot, an
    international name as IDNA writes it); ``ValueError`` names one that is no host name."""
    names = []
    for value in values:
        name = value.strip().lower()
        if name in ANY_HOST:
            names.append(name)
            continue
        try:
            name = name.encode("idna").decode("ascii") if not name.isascii() else name
        except UnicodeError:
            name = ""
        name = name.removesuffix(".")
        if not (_NAME.fullmatch(name) or _address(name.removeprefix("[").removesuffix("]"))):
            raise ValueError(
                f"--allowed-host {value!r}: give a host name without scheme or port "
                "(app.test, *.app.test for the names under it, .app.test for both), "
                "or * to answer any host"
            )
        names.append(name)
    return tuple(names)


def bound_to_loopback(host: str) -> bool:
    """Whether a server listening on ``host`` is reachable from this machine only."""
    name = host.strip().removeprefix("[").removesuffix("]")
    if not name:
        return False  # every interface
    if _loopback_name(name.lower()):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:  # a name: loopback if every address it names is (Debian names itself 127.0.1.1)
        found = socket.getaddrinfo(name, None)
    except (OSError, UnicodeError):
        return True  # it cannot be bound either; nothing is answered the wrong way
    return all(ipaddress.ip_address(f[4][0].partition("%")[0]).is_loopback for f in found)


class HostRule:
    """The names a server answers for (see the module docstring); :meth:`of` builds one."""

    __slots__ = ("kept", "names", "suffixes")

    def __init__(self, names: Iterable[str], suffixes: Iterable[str]) -> None:
        self.names = frozenset(names)
        self.suffixes = tuple(suffixes)
        self.kept: set[bytes] = set()

    @classmethod
    def of(cls, bind: str, allowed: Sequence[str] = ()) -> HostRule | None:
        """The rule of a server bound to ``bind`` with these ``--allowed-host`` values
        (:func:`allowed_names`'); ``None``: it answers any ``Host``."""
        if ANY_HOST.intersection(allowed) or not (allowed or bound_to_loopback(bind)):
            return None
        names, suffixes = set(), []
        bound = bind.strip().lower().removesuffix(".")
        if _NAME.fullmatch(bound):  # the name it was bound to, as a browser would write it
            names.add(bound)
        for name in allowed:
            if name.startswith("*."):
                suffixes.append(name[1:])
            elif name.startswith("."):
                names.add(name[1:])
                suffixes.append(name)
            else:
                names.add(name)
        return cls(names, suffixes)

    def allows(self, value: bytes) -> bool:
        """Whether a request whose ``Host`` is ``value`` is answered."""
        if value in self.kept:
            return True
        if not self._allows(value):
            return False
        if len(self.kept) < _KEPT and len(value) <= _KEPT_BYTES:
            self.kept.add(value)
        return True

    def _allows(self, value: bytes) -> bool:
        try:
            text = value.decode("ascii").strip()
        except UnicodeDecodeError:
            return False
        if not text:
            return True  # as no Host at all: never a browser's
        host = _host(text)
        if host is None:
            return False
        if host.startswith("["):
            return True  # an IPv6 literal, checked by _host
        host = host.lower().removesuffix(".")
        return (
            _loopback_name(host)
            or host in self.names
            or host.endswith(self.suffixes)
            or _address(host)
        )

    def __reduce__(self) -> tuple[Any, ...]:  # pickled for uvicorn's spawned workers
        return (_rebuilt, (tuple(self.names), self.suffixes))


def _rebuilt(names: tuple[str, ...], suffixes: tuple[str, ...]) -> HostRule:
    return HostRule(names, suffixes)


def refusal_body(value: bytes) -> bytes:
    """The contract's error body for a request whose ``Host`` is ``value``."""
    shown = value.decode("latin-1")[:100]
    host = _host(shown.strip()) or shown
    return json.dumps(
        {
            "code": "bad_request",
            "message": f"This server does not answer for the host {shown!r}.",
            "detail": "It answers localhost, its IP addresses and the names given with "
            "--allowed-host (a guard against DNS rebinding): reach it as localhost or "
            f"127.0.0.1, or start it with --allowed-host {host.lower()}.",
        }
    ).encode()


def refused(value: bytes, headers: Sequence[tuple[bytes, bytes]] = ()) -> Any:
    """The ASGI app that answers a request whose ``Host`` is ``value``: ``400 bad_request``
    in the contract's shape, with ``headers`` (the CORS the protocol's other refusals
    carry); an answer as any other, on the connection's turn, kept alive."""
    return partial(_refused, value, headers)


async def _refused(
    value: bytes, headers: Sequence[tuple[bytes, bytes]], _scope: Scope, _receive: Any, send: Send
) -> None:
    global _warned
    if not _warned:  # once a process: the answer says it to every client
        _warned = True
        logger.warning(
            "refused a request for the host %r (see --allowed-host)",
            value[:100].decode("latin-1"),
        )
    body = refusal_body(value)
    head = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 400, "headers": [*head, *headers]})
    await send({"type": "http.response.body", "body": body})


def _host(text: str) -> str | None:
    """The host of a ``Host`` value (an IPv6 literal in its brackets), without its port;
    ``None`` when it is not ``host[:port]``."""
    if text.startswith("["):
        address, closed, port = text[1:].partition("]")
        if not closed or not _port(port) or not _address(address):
            return None
        return f"[{address}]"
    host, colon, port = text.rpartition(":")
    if not colon:
        return text
    return host if host and ":" not in host and _port(colon + port) else None


def _port(text: str) -> bool:
    return not text or (text[0] == ":" and (len(text) == 1 or text[1:].isdigit()))


def _address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _loopback_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")
