"""Repeated TCP connects or HTTP requests toward one target (seed 003, tlog-console and hbase:
"every second, fetch 10.16.11.131:56789; if it is slow or fails too, it is the network"), with
latency percentiles, loss and kinds of error; and the prober's own health first (CPU steal, a
starved scheduler, a clock that jumped) so that a sick client does not blame the network."""

from __future__ import annotations

import errno
import http.client
import socket
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from netsleuth.results.probes import LatencyProbe, SelfHealth


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile.

    >>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0, 100.0], 90), percentile([], 50)
    (3.0, 100.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def error_kind(exc: BaseException) -> str:
    """A short name for why one attempt failed.

    >>> error_kind(ConnectionRefusedError(errno.ECONNREFUSED, "x")), error_kind(TimeoutError())
    ('refused', 'timeout')
    """
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    if isinstance(exc, http.client.HTTPException):
        return "http_protocol"
    return type(exc).__name__


def _steal() -> tuple[int, int] | None:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    nums = [int(x) for x in fields]
    return (nums[7] if len(nums) > 7 else 0), sum(nums)


class HealthWatch:
    """Measures, over the run: CPU steal, how late timed sleeps wake (starvation), and the wall
    clock against the monotonic one (a jump makes latencies and log times lie)."""

    def __init__(self) -> None:
        self.stat0 = _steal()
        self.wall0, self.mono0 = time.time(), time.monotonic()
        self.worst_late_ms = 0.0

    def sleep(self, seconds: float) -> None:
        start = time.monotonic()
        time.sleep(seconds)
        late = (time.monotonic() - start - seconds) * 1000
        self.worst_late_ms = max(self.worst_late_ms, late)

    def result(self) -> SelfHealth:
        stat1 = _steal()
        steal = None
        if self.stat0 and stat1 and stat1[1] > self.stat0[1]:
            steal = round(100.0 * (stat1[0] - self.stat0[0]) / (stat1[1] - self.stat0[1]), 2)
        jump = (time.time() - self.wall0) - (time.monotonic() - self.mono0)
        return SelfHealth(steal, round(self.worst_late_ms, 2), round(jump, 3))


def _attempt_tcp(host: str, port: int, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout):
        pass


def _attempt_http(url: str, timeout: float) -> None:
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/", headers={"User-Agent": "netsleuth-probe"})
        resp = conn.getresponse()
        resp.read(65536)
        if resp.status >= 500:
            raise http.client.HTTPException(f"status {resp.status}")
    finally:
        conn.close()


def probe_latency(
    kind: str, target: str, count: int = 10, interval_s: float = 1.0, timeout: float = 3.0
) -> LatencyProbe:
    """`count` attempts (at most 1000), one per `interval_s` (at least 50 ms apart)."""
    count = max(1, min(count, 1000))
    interval_s = max(0.05, interval_s)
    watch = HealthWatch()
    times: list[float] = []
    errors: dict[str, int] = {}
    if kind == "http":
        url = target if "://" in target else f"http://{target}"
        attempt: Callable[[], None] = partial(_attempt_http, url, timeout)
    else:
        host, _, port = target.rpartition(":")
        if not port.isdigit() or not host:
            raise ValueError(f"TCP target must be HOST:PORT, not {target!r}")
        attempt = partial(_attempt_tcp, host.strip("[]"), int(port), timeout)
    for i in range(count):
        if i:
            watch.sleep(interval_s)
        start = time.monotonic()
        try:
            attempt()
        except (OSError, http.client.HTTPException) as exc:
            k = error_kind(exc)
            errors[k] = errors.get(k, 0) + 1
            continue
        times.append((time.monotonic() - start) * 1000)

    def r(v: float | None) -> float | None:
        return round(v, 3) if v is not None else None

    return LatencyProbe(
        target=target,
        kind=kind,
        count=count,
        ok=len(times),
        errors=errors,
        p50_ms=r(percentile(times, 50)),
        p90_ms=r(percentile(times, 90)),
        p99_ms=r(percentile(times, 99)),
        max_ms=r(max(times) if times else None),
        health=watch.result(),
    )
