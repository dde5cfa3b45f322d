"""A token-checked echo: `netsleuth listen udp|tcp PORT --token T` on the far host and
`netsleuth probe udp|tcp HOST:PORT --token T` on the near one (seed 003's `nc -u` test of VXLAN
port 4789, without stopping anything).

Never a reflector: a request gets a reply only when its HMAC (keyed by the token) checks, its time
is within a minute of ours and its nonce is new; the reply is never larger than the request;
replies are rate-limited and the listener stops by itself."""

from __future__ import annotations

import hashlib
import hmac
import os
import select
import socket
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from netsleuth.results.probes import EchoProbe

MAGIC = b"NSL1"
REQ = b"Q"
REP = b"R"
NONCE = 16
MAC = 32
REQ_LEN = len(MAGIC) + 1 + NONCE + 8 + MAC  # 61 bytes
REP_LEN = len(MAGIC) + 1 + NONCE + MAC
SKEW_S = 60.0
MAX_LIFETIME_S = 3600.0


def _mac(token: bytes, *parts: bytes) -> bytes:
    return hmac.new(token, b"".join(parts), hashlib.sha256).digest()


def make_request(token: bytes, now: float | None = None, nonce: bytes | None = None) -> bytes:
    """A request: magic, 'Q', nonce, time, HMAC over all of it.

    >>> len(make_request(b"secret")) == REQ_LEN
    True
    """
    nonce = nonce or os.urandom(NONCE)
    ts = struct.pack("!d", time.time() if now is None else now)
    return MAGIC + REQ + nonce + ts + _mac(token, MAGIC, REQ, nonce, ts)


def check_request(token: bytes, data: bytes, now: float | None = None) -> bytes | None:
    """The nonce of a valid request, or None (wrong length, magic, HMAC or time).

    >>> t = b"secret"; req = make_request(t, now=1000.0, nonce=b"n" * 16)
    >>> check_request(t, req, now=1010.0)
    b'nnnnnnnnnnnnnnnn'
    >>> check_request(b"other", req, now=1010.0) is None, check_request(t, req, now=2000.0) is None
    (True, True)
    """
    if len(data) != REQ_LEN or not data.startswith(MAGIC + REQ):
        return None
    nonce = data[5 : 5 + NONCE]
    ts = data[5 + NONCE : 5 + NONCE + 8]
    mac = data[5 + NONCE + 8 :]
    if not hmac.compare_digest(mac, _mac(token, MAGIC, REQ, nonce, ts)):
        return None
    when = struct.unpack("!d", ts)[0]
    if abs((time.time() if now is None else now) - when) > SKEW_S:
        return None
    return nonce


def make_reply(token: bytes, nonce: bytes) -> bytes:
    return MAGIC + REP + nonce + _mac(token, MAGIC, REP, nonce)


def check_reply(token: bytes, data: bytes, nonce: bytes) -> bool:
    """Is this the authenticated reply to our request `nonce`?

    >>> t = b"k"; rep = make_reply(t, b"x" * 16)
    >>> check_reply(t, rep, b"x" * 16), check_reply(b"j", rep, b"x" * 16), check_reply(t, rep, b"y" * 16)
    (True, False, False)
    """
    return (
        len(data) == REP_LEN
        and data.startswith(MAGIC + REP)
        and data[5 : 5 + NONCE] == nonce
        and hmac.compare_digest(data[5 + NONCE :], _mac(token, MAGIC, REP, nonce))
    )


class RateLimit:
    """A token bucket: at most `rate` replies a second, bursts of `burst`.

    >>> r = RateLimit(rate=1, burst=2); [r.allow(now=0.0) for _ in range(3)]
    [True, True, False]
    >>> r.allow(now=1.5)
    True
    """

    def __init__(self, rate: float = 20.0, burst: int = 20) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.last: float | None = None

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class ListenStats:
    accepted: int = 0
    rejected: int = 0
    limited: int = 0


def listen(
    proto: str,
    port: int,
    token: bytes,
    lifetime_s: float = 300.0,
    max_replies: int = 1000,
    bind: str = "0.0.0.0",
    rate: float = 20.0,
    on_event: Callable[[str, str], None] | None = None,
    ready: Callable[[], None] | None = None,
) -> ListenStats:
    """Answer valid requests until `lifetime_s` (capped at an hour) or `max_replies` is reached."""
    lifetime_s = min(lifetime_s, MAX_LIFETIME_S)
    stats = ListenStats()
    limiter = RateLimit(rate, int(rate))
    seen: OrderedDict[bytes, None] = OrderedDict()
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    if proto == "tcp":
        sock.listen(16)
    if ready:
        ready()
    deadline = time.monotonic() + lifetime_s

    def answer(data: bytes, peer: str) -> bytes | None:
        nonce = check_request(token, data)
        if nonce is None or nonce in seen:
            stats.rejected += 1
            if on_event:
                on_event("rejected", peer)
            return None
        if not limiter.allow():
            stats.limited += 1
            return None
        seen[nonce] = None
        if len(seen) > 4096:
            seen.popitem(last=False)
        stats.accepted += 1
        if on_event:
            on_event("accepted", peer)
        return make_reply(token, nonce)

    try:
        while stats.accepted < max_replies:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], min(left, 1.0))
            if not r:
                continue
            if proto == "udp":
                data, addr = sock.recvfrom(512)
                reply = answer(data, addr[0])
                if reply is not None:
                    sock.sendto(reply, addr)
            else:
                conn, addr = sock.accept()
                with conn:
                    conn.settimeout(2.0)
                    try:
                        data = _recv_exact(conn, REQ_LEN)
                        reply = answer(data, addr[0])
                        if reply is not None:
                            conn.sendall(reply)
                    except OSError:
                        stats.rejected += 1
    finally:
        sock.close()
    return stats


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def probe_echo(
    proto: str,
    host: str,
    port: int,
    token: bytes,
    count: int = 5,
    interval_s: float = 0.2,
    wait_s: float = 1.0,
    icmp: bool = True,
) -> EchoProbe:
    """Send `count` requests (one per `interval_s`) and count the authenticated replies; with `icmp`
    also ping the host, so "reachable, but this port does not pass" is told from "down"."""
    from netsleuth.probes.icmp import Kind, ping

    result = EchoProbe(host, port, proto, 0, 0)
    for i in range(max(1, min(count, 100))):
        if i:
            time.sleep(interval_s)
        req = make_request(token)
        nonce = req[5 : 5 + NONCE]
        result.sent += 1
        start = time.monotonic()
        try:
            data = _exchange(proto, host, port, req, wait_s)
        except OSError as exc:
            result.error = exc.strerror or str(exc)
            continue
        if data is None:
            continue
        if check_reply(token, data, nonce):
            result.answered += 1
            result.rtt_ms.append(round((time.monotonic() - start) * 1000, 3))
        else:
            result.rejected += 1
    if icmp:
        try:
            result.icmp_ok = any(o.kind is Kind.REPLY for o in ping(host, count=2, wait_s=wait_s))
        except OSError:
            result.icmp_ok = None
    return result


def _exchange(proto: str, host: str, port: int, req: bytes, wait_s: float) -> bytes | None:
    if proto == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, port))
            s.send(req)
            r, _, _ = select.select([s], [], [], wait_s)
            if not r:
                return None
            return s.recv(512)
    with socket.create_connection((host, port), timeout=wait_s) as s:
        s.settimeout(wait_s)
        s.sendall(req)
        try:
            return _recv_exact(s, REP_LEN) or None
        except TimeoutError:
            return None
