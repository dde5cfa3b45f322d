"""A token-checked echo: `netsleuth listen udp|tcp PORT --token T` on the far host and
`netsleuth probe udp|tcp HOST:PORT --token T` on the near one (seed 003's `nc -u` test of VXLAN
port 4789, without stopping anything).

Never a reflector: a request gets a reply only when its HMAC (keyed by the token) checks, its time
is a finite number within a minute of ours and not before this listener started, and its nonce is
new; the reply is never larger than the request; replies are rate-limited and the listener stops
by itself.

A captured request cannot be played again: its nonce is remembered until its time has left the
window (however many newer requests come), and a restarted listener refuses requests stamped
before its own start (a near host whose clock runs behind waits that much after a restart). TCP
connections are served side by side, so one slow client delays no other probe."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
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
MAX_SEEN = 65536  # nonces remembered at once (a full memory refuses, never forgets early)
MAX_CONNECTIONS = 64  # TCP connections served at once
CONN_TIMEOUT_S = 2.0


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
    >>> check_request(t, make_request(t, now=float("nan")), now=1010.0) is None   # never expires: no
    True
    """
    if len(data) != REQ_LEN or not data.startswith(MAGIC + REQ):
        return None
    nonce = data[5 : 5 + NONCE]
    ts = data[5 + NONCE : 5 + NONCE + 8]
    mac = data[5 + NONCE + 8 :]
    if not hmac.compare_digest(mac, _mac(token, MAGIC, REQ, nonce, ts)):
        return None
    when = request_time(data)
    if not math.isfinite(when) or not abs((time.time() if now is None else now) - when) <= SKEW_S:
        return None
    return nonce


def request_time(data: bytes) -> float:
    """The time a request says it was sent (epoch seconds; may be NaN or infinite: check it)."""
    return float(struct.unpack_from("!d", data, 5 + NONCE)[0])


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


class Responder:
    """What a listener knows: its token, when it started, the nonces it answered (until their time
    leaves the window) and its rate limit. Decides whether a request gets a reply."""

    def __init__(
        self,
        token: bytes,
        rate: float = 20.0,
        started: float | None = None,
        on_event: Callable[[str, str], None] | None = None,
    ) -> None:
        self.token = token
        self.started = time.time() if started is None else started
        self.limiter = RateLimit(rate, max(1, int(rate)))
        self.seen: OrderedDict[bytes, float] = OrderedDict()  # nonce -> its time, oldest first
        self.stats = ListenStats()
        self.on_event = on_event

    def _forget(self, now: float) -> None:
        while self.seen:
            nonce, when = next(iter(self.seen.items()))
            if when >= now - SKEW_S:
                break
            del self.seen[nonce]

    def answer(self, data: bytes, peer: str, now: float | None = None) -> bytes | None:
        """The reply to `data`, or None (invalid, replayed, stale, limited)."""
        now = time.time() if now is None else now
        nonce = check_request(self.token, data, now)
        self._forget(now)
        if (
            nonce is None
            or nonce in self.seen
            or request_time(data) < self.started
            or len(self.seen) >= MAX_SEEN
        ):
            self.stats.rejected += 1
            if self.on_event:
                self.on_event("rejected", peer)
            return None
        if not self.limiter.allow():
            self.stats.limited += 1
            return None
        self.seen[nonce] = request_time(data)
        if len(self.seen) > 1 and request_time(data) < next(reversed(self.seen.values())):
            self.seen = OrderedDict(sorted(self.seen.items(), key=lambda kv: kv[1]))  # keep oldest first
        self.stats.accepted += 1
        if self.on_event:
            self.on_event("accepted", peer)
        return make_reply(self.token, nonce)


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
    responder = Responder(token, rate, on_event=on_event)
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    if proto == "tcp":
        sock.listen(MAX_CONNECTIONS)
    if ready:
        ready()
    deadline = time.monotonic() + lifetime_s
    try:
        if proto == "udp":
            _serve_udp(sock, responder, deadline, max_replies)
        else:
            _serve_tcp(sock, responder, deadline, max_replies)
    finally:
        sock.close()
    return responder.stats


def _serve_udp(sock: socket.socket, responder: Responder, deadline: float, max_replies: int) -> None:
    while responder.stats.accepted < max_replies:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([sock], [], [], min(left, 1.0))
        if r:
            data, addr = sock.recvfrom(512)
            reply = responder.answer(data, addr[0])
            if reply is not None:
                sock.sendto(reply, addr)


def _serve_tcp(sock: socket.socket, responder: Responder, deadline: float, max_replies: int) -> None:
    """Every connection at once: each gets CONN_TIMEOUT_S to send its request."""
    conns: dict[socket.socket, tuple[bytearray, float, str]] = {}

    def drop(c: socket.socket) -> None:
        conns.pop(c, None)
        c.close()

    try:
        while responder.stats.accepted < max_replies:
            now = time.monotonic()
            if now >= deadline:
                return
            for c, (_, until, _) in list(conns.items()):
                if until <= now:  # too slow: closed, the others go on
                    responder.stats.rejected += 1
                    drop(c)
            wait = min([deadline - now, 1.0, *(until - now for _, until, _ in conns.values())])
            r, _, _ = select.select([sock, *conns], [], [], max(0.0, wait))
            for s in r:
                if s is sock:
                    c, addr = sock.accept()
                    if len(conns) >= MAX_CONNECTIONS:
                        c.close()
                        continue
                    c.setblocking(False)
                    conns[c] = (bytearray(), time.monotonic() + CONN_TIMEOUT_S, addr[0])
                    continue
                buf, _, peer = conns[s]
                try:
                    chunk = s.recv(REQ_LEN - len(buf))
                except OSError:
                    chunk = b""
                if not chunk:
                    responder.stats.rejected += 1
                    drop(s)
                    continue
                buf += chunk
                if len(buf) < REQ_LEN:
                    continue
                reply = responder.answer(bytes(buf), peer)
                if reply is not None:
                    with contextlib.suppress(OSError):
                        s.send(reply)  # 53 bytes into a fresh socket's buffer
                drop(s)
    finally:
        for c in list(conns):
            drop(c)


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
