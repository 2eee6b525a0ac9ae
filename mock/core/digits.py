"""Integer columns as decimal text: a row of ``uint8`` per number, right-aligned in NUL
padding, for the encoder (:mod:`.response`), which drops every NUL byte of a body at
the end (JSON text never holds one).

Counts and durations are non-negative and mostly below 10**8, so a number is written
from a table of every four-digit chunk in its three forms, in a few whole-array
operations: no Python object per number.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ascii_rows", "digits"]

#: ``_CHUNKS[c + 10_000 * form]``: the four digits of ``0 <= c < 10_000`` as ASCII in a
#: little-endian uint32: all four (form 0, an inner chunk), without leading zeros (form
#: 1, a number's first chunk; 0 is "0"), or none (form 2, left of the first chunk).
_CHUNKS = np.array(
    [f"{c:04d}".encode() for c in range(10_000)]
    + [str(c).rjust(4, "\0").encode() for c in range(10_000)]
    + [b"\0\0\0\0"] * 10_000,
    dtype="S4",
).view("<u4")
#: ``10_000**k`` for ``k = 1..4``: a number has as many chunks as entries it is not below, + 1.
_CHUNK_LIMITS = 10_000 ** np.arange(1, 5, dtype=np.int64)


def ascii_rows(texts: list[bytes]) -> np.ndarray:
    """``texts`` as rows of one ``uint8`` matrix, NUL-padded."""
    width = max(map(len, texts), default=1)
    return np.array(texts, dtype=f"S{width}").view(np.uint8).reshape(len(texts), width)


def digits(numbers: np.ndarray) -> np.ndarray:
    """Each number's decimal text, right-aligned in NUL padding (rows of ``uint8``),
    four digits at a time from :data:`_CHUNKS`."""
    if not len(numbers):
        return np.zeros((0, 4), dtype=np.uint8)
    if int(numbers.min()) < 0:  # never from a dataset (durations are >= 0); still exact
        return ascii_rows([str(n).rjust(20, "\0").encode() for n in numbers.tolist()])
    top = int(numbers.max())
    # Counts and most durations of a bucket take one or two chunks: a few whole-array
    # operations each, where the per-call cost of numpy is most of the work.
    if top < 10_000:
        return _CHUNKS.take(numbers + 10_000).view(np.uint8).reshape(len(numbers), 4)
    if top < 10_000**2:
        index = np.empty((len(numbers), 2), dtype=np.int64)
        higher = np.floor_divide(numbers, 10_000, out=index[:, 0])  # by a scalar: libdivide
        np.subtract(numbers, higher * 10_000, out=index[:, 1])
        # Forms 1 and 0 with a higher chunk; 2 and 1 where it is blank.
        index += _TWO_FORMS.take((higher == 0).view(np.uint8), axis=0)
        return _CHUNKS.take(index).view(np.uint8).reshape(len(numbers), 8)
    counts = 1 + _CHUNK_LIMITS.searchsorted(numbers, side="right")
    chunks = int(counts.max())
    out = np.empty((chunks, len(numbers)), dtype="<u4")
    rest = numbers
    # The form of the last chunk; each one further left is one form further, up to 2.
    form = 2 - counts
    for k in range(chunks):
        higher = rest // 10_000
        index = np.minimum(np.maximum(form + k, 0), 2)
        index *= 10_000
        index += rest - higher * 10_000
        _CHUNKS.take(index, out=out[chunks - 1 - k])
        rest = higher
    return out.T.copy().view(np.uint8)


#: The offsets in :data:`_CHUNKS` of the forms of a number's two chunks, without (row
#: 0) and with (row 1) a blank higher one.
_TWO_FORMS = np.array([[10_000, 0], [20_000, 10_000]], dtype=np.int64)
