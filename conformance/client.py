"""The kit's HTTP client: sends exactly the request a rule asks for.

Query parameters go out exactly as given, in order -- the comma form of
``group_by``, the repeated form, or both -- because telling them apart is part
of what the kit tests.

Transient refusals are not verdicts: a 429 or a 503 is sent again up to
``--retries`` times, each after the ``Retry-After`` it names (capped at
:data:`MAX_WAIT`), so that a rate limit or a brief overload slows the run down
instead of failing rules; only one that persists reaches the rules.

A request that gets no answer is a finding of the rule that sent it --
:class:`~usagekit.conformance.failures.TooSlow` when its whole answer has not come
within ``--timeout`` (one deadline for the exchange, not for each read: see
:mod:`~usagekit.conformance.deadline`),
:class:`~usagekit.conformance.failures.NoAnswer` when the connection fails --
once the server has answered anything. Before its first answer, the server is
:class:`~usagekit.conformance.errors.Unreachable` and the run cannot start. A
kept-alive connection that ends before any answer is not that: a server may close
an idle connection just as a request arrives on it (RFC 9112, 9.3.1), and the
request goes again, once, on a new connection, within the same deadline.

The run's :class:`~usagekit.conformance.budget.Budget` (``--max-time``) bounds
all of it: no request starts once it is spent, an exchange gets at most what is
left of it, and a ``Retry-After`` is waited only until it ends. What it cuts is
:class:`~usagekit.conformance.budget.OutOfTime`, not a finding: the server was
not told about the budget.

An answer is read as it comes, at most :data:`MAX_ANSWER` bytes, and its content
codings are undone to at most as many (the kit asks for gzip and deflate only):
a body that never ends, or a small one that inflates without end, is
:class:`~usagekit.conformance.failures.TooLarge` instead of the kit's memory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

import httpx

from .budget import Budget, OutOfTime
from .codings import Undone, undone
from .config import KitConfig
from .deadline import Deadline
from .errors import Unreachable
from .exchange import Exchange, KeyRole, usage_path
from .failures import NoAnswer, TooLarge, TooSlow
from .inflating import InflatesPast

__all__ = ["INVALID_KEY", "MAX_ANSWER", "MAX_WAIT", "RETRIED", "Client"]

#: A key no server issued.
INVALID_KEY = "sk-usagekit-conformance-invalid-0000000000"
#: Statuses that say "try again later".
RETRIED = frozenset({429, 503})
#: The longest the kit waits before sending a refused request again (s).
MAX_WAIT = 10.0
#: The most of an answer's body the kit reads, and the most it inflates that to (bytes):
#: the largest answer the contract allows (500 buckets of every group) is well under it.
MAX_ANSWER = 32 << 20
#: httpcore's words for a connection that ended before any answer (a RemoteProtocolError
#: otherwise is an answer that is not HTTP: the server's, judged as such).
_DISCONNECTED = "Server disconnected without sending a response."


class Client:
    def __init__(
        self,
        config: KitConfig,
        transport: httpx.BaseTransport | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.config = config
        self.budget = budget or Budget()  # unbounded unless the run has one
        self._http = httpx.Client(timeout=config.timeout, transport=transport)
        # Only the codings _decoded undoes within the cap (httpx would add br, zstd if installed).
        self._http.headers["accept-encoding"] = "gzip, deflate"
        self.answered = False  # whether the server has answered anything yet
        self._deadline = Deadline(config.timeout)
        self._trace = {"trace": self._deadline.trace}

    def close(self) -> None:
        self._http.close()

    def send(
        self,
        *,
        account: str,
        params: Sequence[tuple[str, str]] = (),
        key: KeyRole = KeyRole.ACCOUNT,
        method: str = "GET",
        path: str | None = None,
    ) -> Exchange:
        """One request to the usage endpoint of ``account`` (or to ``path``)."""
        path = path or usage_path(account)
        headers = {}
        key_text = self._key(key)
        if key_text is not None:
            headers["X-API-Key"] = key_text
        request = self._http.build_request(
            method,
            self.config.base_url + path,
            params=list(params),
            headers=headers,
            extensions=self._trace,
        )
        sent = Exchange(
            method=method,
            base_url=self.config.base_url,
            path=path,
            account=account,
            params=tuple(params),
            key=key,
            key_text=key_text if key is KeyRole.INVALID else None,
            status=0,
            headers={},
            content=b"",
            elapsed=0.0,
            sent_url=str(request.url),
            sent_headers=tuple(request.headers.items()),
        )
        for attempt in range(self.config.retries + 1):
            started = time.perf_counter()
            response, body = self._answer(request, sent)
            elapsed = time.perf_counter() - started
            if response.status_code not in RETRIED or attempt == self.config.retries:
                break
            self.budget.wait(retry_after(response.headers.get("retry-after")))
        return Exchange(
            method=method,
            base_url=sent.base_url,
            path=path,
            account=account,
            params=sent.params,
            key=key,
            key_text=sent.key_text,
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=body.body,
            elapsed=elapsed,
            sent_url=sent.sent_url,
            sent_headers=sent.sent_headers,
            undecoded=body.undecoded,
        )

    def status_at(self, url: str, params: Sequence[tuple[str, str]]) -> int | None:
        """The status ``url`` answers with --api-key, or None: a probe, not judged."""
        headers = {"X-API-Key": self.config.api_key}
        request = self._http.build_request(
            "GET", url, params=list(params), headers=headers, extensions=self._trace
        )
        self.budget.check()
        seconds = self.budget.within(self.config.timeout)
        try:
            with self._deadline.running(seconds):
                response = self._http.send(request, stream=True)
                response.close()  # its body is never read
        except httpx.HTTPError:
            response = None
        if self._deadline.passed and seconds < self.config.timeout:
            raise OutOfTime(self.budget.words())
        return None if response is None or self._deadline.passed else response.status_code

    def _answer(self, request: httpx.Request, sent: Exchange) -> tuple[httpx.Response, Undone]:
        """The answer to ``request`` and its body, decoded (or as it came, and why: the rule
        ``content_encoding_readable`` judges that, as it does the proxy's and a HAR's)."""
        self.budget.check()
        seconds = self.budget.within(self.config.timeout)
        cut = seconds < self.config.timeout  # the budget, not --timeout, bounds this one
        try:
            with self._deadline.running(seconds):
                response = self._sent(request)
                try:
                    content = _body(response)
                finally:
                    response.close()
            if self._deadline.passed:  # a body read to the end the deadline made is cut short
                raise httpx.ReadTimeout("the deadline passed", request=request)
        except _TooLarge as exc:
            if not self.answered:
                raise Unreachable(f"{sent.method} {sent.url}: {exc}") from exc
            raise TooLarge(str(exc), exchanges=(sent,)) from exc
        except httpx.TimeoutException as exc:
            raise self._too_slow(sent, cut) from exc
        except httpx.HTTPError as exc:
            if self._deadline.passed:  # its sockets shut: the read ended for that reason
                raise self._too_slow(sent, cut) from exc
            if not self.answered:
                raise Unreachable(f"{sent.method} {sent.url}: {exc}") from exc
            raise NoAnswer(f"no answer: {exc}", exchanges=(sent,)) from exc
        self.answered = True
        return response, content

    def _sent(self, request: httpx.Request) -> httpx.Response:
        """``request`` sent, its head read; again on a new connection when a kept one ended
        before answering (httpcore dropped that one: the pool opens another)."""
        try:
            return self._http.send(request, stream=True)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            ended = not isinstance(exc, httpx.RemoteProtocolError) or str(exc) == _DISCONNECTED
            if not ended or self._deadline.opened or self._deadline.passed:
                raise  # an answer that is not HTTP, a new connection's failure, or too slow
            return self._http.send(request, stream=True)

    def _too_slow(self, sent: Exchange, cut: bool) -> Exception:
        if cut:  # not the server's --timeout that passed: the run's time
            return OutOfTime(self.budget.words())
        if not self.answered:
            return Unreachable(f"{sent.method} {sent.url}: {_timed_out(self.config)}")
        return TooSlow(_timed_out(self.config), exchanges=(sent,))

    def _key(self, role: KeyRole) -> str | None:
        return {
            KeyRole.ACCOUNT: self.config.api_key,
            KeyRole.SUBACCOUNT: self.config.subaccount_key,
            KeyRole.INVALID: INVALID_KEY,
            KeyRole.NONE: None,
        }[role]


class _TooLarge(Exception):
    def __init__(self) -> None:
        super().__init__(f"the answer is larger than {MAX_ANSWER >> 20} MiB: the kit read no more")


def _body(response: httpx.Response) -> Undone:
    """The body of ``response``, decoded, within the cap."""
    if response.is_stream_consumed:  # read and decoded already, by an in-process transport
        return Undone(response.content)
    return _decoded(_raw(response), response.headers.get("content-encoding", ""))


def _raw(response: httpx.Response) -> bytes:
    """The body as it came, read until its end or :data:`MAX_ANSWER`."""
    chunks, size = [], 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > MAX_ANSWER:
            chunks.clear()  # not kept alive by the traceback
            raise _TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(raw: bytes, coding: str) -> Undone:
    """``raw`` with its content codings undone, last first, each to at most
    :data:`MAX_ANSWER` bytes; as it came, and why, when one is not the coding it says or
    one the kit does not decode (:func:`.codings.undone`)."""
    try:
        return undone(raw, coding, MAX_ANSWER)
    except InflatesPast:
        raise _TooLarge() from None


def _timed_out(config: KitConfig) -> str:
    return f"no answer within --timeout {config.timeout:g} s"


def retry_after(value: str | None) -> float:
    """Seconds to wait as ``Retry-After`` says (seconds or an HTTP date), at most MAX_WAIT."""
    if value is None:
        return 1.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 1.0
    return min(MAX_WAIT, max(0.05, seconds))
