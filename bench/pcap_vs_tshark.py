"""Benchmark: `netsleuth pcap` against `tshark -r F -Y tcp.analysis.retransmission`.

Builds a capture of N packets (default 1,000,000) of many interleaved TCP connections with a
realistic share of retransmissions (timeouts and fast retransmissions after three duplicate ACKs,
about 1-2% of data segments), runs both tools on it and prints both times, both retransmission
counts and the ratios. A benchmark, never a pass/fail test; it may take minutes. With --repeat N
both tools run N times (alternately) and the best and median times are shown: on a shared machine
one run says little.

    .venv/bin/python bench/pcap_vs_tshark.py [--packets 1000000] [--keep FILE] [--repeat N]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08
WINDOW = 64240
MSS_SIZES = (1448, 536, 200, 90)  # payload sizes cycled per connection (keeps the file moderate)

Packet = tuple[float, bool, int, int, int, int]  # ts, from_client, seq, ack, flags, payload length


def connection(rng: random.Random, start: float, segments: int, loss: float) -> Iterator[Packet]:
    """One TCP connection seen at the client: handshake, data with losses, close."""
    t = start
    rtt = rng.uniform(0.0005, 0.004)
    cseq, sseq = rng.getrandbits(32), rng.getrandbits(32)
    size = MSS_SIZES[rng.randrange(len(MSS_SIZES))]
    m = 0xFFFFFFFF

    def nxt(dt: float) -> float:
        nonlocal t
        t += dt
        return t

    yield (t, True, cseq, 0, SYN, 0)
    yield (nxt(rtt), False, sseq, (cseq + 1) & m, SYN | ACK, 0)
    cseq, sseq = (cseq + 1) & m, (sseq + 1) & m
    yield (nxt(0.00002), True, cseq, sseq, ACK, 0)
    i = 0
    while i < segments:
        r = rng.random()
        if r < loss / 2 and i + 4 < segments:
            # fast retransmission: segment k lost, three more sent, three duplicate ACKs, resend k
            lost = cseq
            yield (nxt(0.0001), True, cseq, sseq, ACK | PSH, size)
            for _ in range(3):
                cseq = (cseq + size) & m
                yield (nxt(0.0001), True, cseq, sseq, ACK | PSH, size)
            cseq = (cseq + size) & m
            for _ in range(3):
                yield (nxt(0.00005), False, sseq, lost, ACK, 0)
            yield (nxt(0.00003), True, lost, sseq, ACK | PSH, size)
            yield (nxt(rtt), False, sseq, cseq, ACK, 0)
            i += 4
        elif r < loss:
            # timeout: the segment (or its ACK) is lost, resent after the RTO
            yield (nxt(0.0001), True, cseq, sseq, ACK | PSH, size)
            yield (nxt(0.2 + rng.random() * 0.1), True, cseq, sseq, ACK | PSH, size)
            cseq = (cseq + size) & m
            yield (nxt(rtt), False, sseq, cseq, ACK, 0)
            i += 1
        else:
            yield (nxt(0.0001), True, cseq, sseq, ACK | PSH, size)
            cseq = (cseq + size) & m
            if i % 2:
                yield (nxt(rtt / 2), False, sseq, cseq, ACK, 0)
            i += 1
        if rng.random() < 0.05:  # a response from the server
            yield (nxt(0.0002), False, sseq, cseq, ACK | PSH, 120)
            sseq = (sseq + 120) & m
            yield (nxt(0.0001), True, cseq, sseq, ACK, 0)
    yield (nxt(0.001), True, cseq, sseq, FIN | ACK, 0)
    yield (nxt(rtt), False, sseq, (cseq + 1) & m, FIN | ACK, 0)
    yield (nxt(0.00002), True, (cseq + 1) & m, (sseq + 1) & m, ACK, 0)


def _tag(i: int, gen: Iterator[Packet]) -> Iterator[tuple[float, int, Packet]]:
    for p in gen:
        yield (p[0], i, p)


def build(path: Path, packets: int, seed: int = 6, loss: float = 0.02) -> None:
    """Write a pcap of about `packets` frames (classic pcap, Ethernet, microseconds)."""
    rng = random.Random(seed)
    conns: list[Iterator[Packet]] = []
    per_conn = 400
    n_conns = max(1, packets // (per_conn + 20))
    meta = []
    for c in range(n_conns):
        start = c * 0.002
        conns.append(connection(rng, start, per_conn, loss))
        client = bytes([10, 1, (c >> 8) & 0xFF, c & 0xFF])
        server = bytes([10, 2, 0, 1 + c % 50])
        meta.append((client, server, 30000 + c % 30000, 443))
    tagged = [_tag(i, gen) for i, gen in enumerate(conns)]
    eth_c = bytes.fromhex("fa163e000001fa163e000002") + b"\x08\x00"
    eth_s = bytes.fromhex("fa163e000002fa163e000001") + b"\x08\x00"
    hdr = struct.Struct("<IIII")
    ip = struct.Struct("!BBHHHBBH4s4s")
    tcp = struct.Struct("!HHIIBBHHH")
    written = 0
    with path.open("wb", buffering=1 << 22) as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, i, (_, from_client, seq, ack, flags, plen) in heapq.merge(*tagged):
            client, server, cport, sport = meta[i]
            src, dst, sp, dp = (
                (client, server, cport, sport) if from_client else (server, client, sport, cport)
            )
            frame = (
                (eth_c if from_client else eth_s)
                + ip.pack(0x45, 0, 40 + plen, 0, 0x4000, 64, 6, 0, src, dst)
                + tcp.pack(sp, dp, seq, ack, 0x50, flags, WINDOW, 0, 0)
                + b"\0" * plen
            )
            sec = int(ts)
            fh.write(hdr.pack(1_700_000_000 + sec, int((ts - sec) * 1e6), len(frame), len(frame)))
            fh.write(frame)
            written += 1
            if written >= packets:
                break


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1, 2):
        sys.exit(f"{cmd[0]} failed ({out.returncode}): {out.stderr.strip()[:400]}")
    return time.monotonic() - t0, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="write the capture here and keep it")
    ap.add_argument("--repeat", type=int, default=1, help="run each tool N times (best and median)")
    args = ap.parse_args()
    tshark = shutil.which("tshark")
    netsleuth = Path(sys.executable).with_name("netsleuth")
    with tempfile.TemporaryDirectory(prefix="ns-bench-") as tmp:
        cap = args.keep or Path(tmp, "bench.pcap")
        t0 = time.monotonic()
        build(cap, args.packets)
        print(f"built {cap} ({cap.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - t0:.1f} s")
        summary = Path(tmp, "summary.json")
        ns_cmd = [str(netsleuth), "pcap", str(cap), "--format", "json", "--summary", str(summary)]
        ts_cmd = [
            tshark or "tshark",
            "-n",
            "-r",
            str(cap),
            "-Y",
            "tcp.analysis.retransmission",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ]
        ns_times: list[float] = []
        ts_times: list[float] = []
        ns_count = ts_count = 0
        for _ in range(max(1, args.repeat)):
            ns_s, _ = timed(ns_cmd)
            ns_times.append(ns_s)
            ns_count = json.loads(summary.read_text())["tcp"]["retransmissions"]
            print(f"netsleuth pcap: {ns_s:8.2f} s  retransmissions {ns_count}", flush=True)
            if tshark is None:
                continue
            ts_s, ts_out = timed(ts_cmd)
            ts_times.append(ts_s)
            ts_count = sum(1 for line in ts_out.splitlines() if line.strip())
            print(f"tshark        : {ts_s:8.2f} s  retransmissions {ts_count}", flush=True)
        if tshark is None:
            print("tshark not installed: no comparison")
            return
        diff = abs(ns_count - ts_count) / max(ts_count, 1) * 100
        if len(ns_times) > 1:
            ns_best, ns_med = min(ns_times), statistics.median(ns_times)
            ts_best, ts_med = min(ts_times), statistics.median(ts_times)
            print(
                f"netsleuth best {ns_best:.2f} s, median {ns_med:.2f} s; tshark best {ts_best:.2f} s, median {ts_med:.2f} s"
            )
            print(
                f"speed-up {ts_best / ns_best:.1f}x best to best, {ts_med / ns_med:.1f}x median to median (target >= 10x)"
            )
        else:
            print(f"speed-up {ts_times[0] / ns_times[0]:.1f}x (target >= 10x)")
        print(f"counts differ by {diff:.2f}% (target <= 1%)")


if __name__ == "__main__":
    main()
