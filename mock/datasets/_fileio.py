"""Opening a dataset file safely: every OS-level failure becomes one :class:`DatasetError`.

A dataset path comes from a user or a shared directory, so it may be a
dangling or looping symlink, a directory, unreadable, a device (``/dev/zero``
never ends), a FIFO (opening it would wait for a writer) or just too large.
:func:`open_regular` opens without blocking, checks that it got a regular file
of at most ``max_bytes``, and says which of these it was in one line; nothing
is read before that.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from usagekit.mock.core.errors import DatasetError

__all__ = ["BOM", "byte_order_mark", "open_regular", "os_reason"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


#: UTF-8's byte order mark: Notepad, PowerShell and spreadsheets' "UTF-8" exports begin a
#: file with it, and RFC 8259 lets a JSON reader ignore it. Only a file's first bytes are one.
BOM = b"\xef\xbb\xbf"


def byte_order_mark(head: bytes) -> int:
    """How many bytes at the start of a file, whose first bytes are ``head``, are a BOM."""
    return len(BOM) if head.startswith(BOM) else 0


def os_reason(exc: OSError) -> str:
    """An ``OSError`` as the reason of a one-line message, without the path twice."""
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.EISDIR:
        return "a directory, not a file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    text = exc.strerror or type(exc).__name__
    return text[0].lower() + text[1:]


def open_regular(path: Path, max_bytes: int | None = None) -> BinaryIO:
    """``path`` opened for reading, once it is known to be a regular file of bounded size."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise DatasetError(path=str(path), line=None, field=None, message=os_reason(exc)) from None
    try:
        info = os.fstat(fd)
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise DatasetError(
                    path=str(path), line=None, field=None, message=f"{kind}, not a regular file"
                )
        if max_bytes is not None and info.st_size > max_bytes:
            raise DatasetError(
                path=str(path),
                line=None,
                field=None,
                message=f"{info.st_size:,} bytes; at most {max_bytes:,} are read",
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
