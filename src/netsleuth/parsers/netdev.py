"""`/proc/net/dev`: per-interface counters (every Linux host and sosreport has it)."""

from __future__ import annotations

from typing import Any

from netsleuth.errors import ParseError

# /proc/net/dev receive columns -> the names parsers/iproute.py uses for the same counters
_RX = {
    "r_bytes": "bytes",
    "r_packets": "packets",
    "r_errs": "errors",
    "r_drop": "dropped",
    "r_fifo": "fifo",
    "r_frame": "frame",
}
_TX = {"t_bytes": "bytes", "t_packets": "packets", "t_errs": "errors", "t_drop": "dropped"}


def parse_net_dev(text: str) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """Interface -> (rx counters, tx counters). The kernel sums rx_dropped + rx_missed_errors into
    `drop`, and length + over + crc + frame errors into `frame`; `fifo` is rx_fifo_errors.

    >>> dev = parse_net_dev(SAMPLE_PROC_NET_DEV)   # captured on a test machine
    >>> rx, tx = dev["eth0"]
    >>> rx["packets"], rx["dropped"], tx["packets"]
    (1938, 0, 1246)
    """
    import jc  # only when there is /proc/net/dev text to read (start-up)

    lines = text.splitlines()
    if len(lines) < 2 or "|" not in lines[0] or "bytes" not in lines[1]:
        raise ParseError("/proc/net/dev: missing the two header lines", lines[0] if lines else "")
    try:
        parsed = jc.parse("proc_net_dev", text, quiet=True)
    except Exception as exc:  # jc raises its own types on malformed input
        raise ParseError(f"/proc/net/dev: {exc}") from None
    rows: list[dict[str, Any]] = (
        [r for r in parsed if isinstance(r, dict)] if isinstance(parsed, list) else []
    )
    out: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for row in rows:
        name = str(row.get("interface", ""))
        if not name or any(not isinstance(row.get(k), int) for k in (*_RX, *_TX)):
            raise ParseError("/proc/net/dev: a row without numeric counters", name)
        out[name] = ({v: int(row[k]) for k, v in _RX.items()}, {v: int(row[k]) for k, v in _TX.items()})
    return out


SAMPLE_PROC_NET_DEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 68787465    1938    0    0    0     0          0         0   134967    1246    0    0    0     0       0          0
"""
