"""Enter a named network namespace for the current thread, to open sockets there (Python 3.11 has
no os.setns, so libc's setns through ctypes). Sockets keep their namespace after we return."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

from netsleuth.errors import NetsleuthError

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetsleuthError(f"setns failed: {os.strerror(err)}")


@contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the block inside network namespace `name` ("" = stay where we are); always come back."""
    if not name:
        yield
        return
    try:
        target = os.open(f"{NETNS_DIR}/{name}", os.O_RDONLY)
    except OSError as exc:
        raise NetsleuthError(f"no network namespace {name!r} ({exc.strerror})") from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)
