"""Per-direction TCP sequence state, to tell retransmissions the way Wireshark's
`tcp.analysis.retransmission` does (plain and fast retransmissions; out-of-order segments, keep-alives
and spurious retransmissions are not counted).

Timestamps are kept as the capture reader gives them (`Stamp`: seconds as a float, or the raw
integer of a pcap record's timestamp fields) and turned into seconds only when one is compared;
`segment` takes the function that does it. A raw stamp is 0 exactly when its time is 0.0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

M32 = 0xFFFFFFFF
HALF = 0x80000000
FAST_RETRANS_WINDOW_S = 0.020  # Wireshark: within 20 ms of the last duplicate ACK
DEFAULT_OOO_S = 0.003  # Wireshark: out-of-order threshold without a measured first RTT

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10

Stamp = float  # seconds, or a raw integer timestamp (int is a float for the type checker)
ToSeconds = Callable[[Any], float]


def same(ts: float) -> float:
    """The `ToSeconds` of stamps that are already seconds."""
    return ts


class Half:
    """One direction of a TCP connection."""

    __slots__ = (
        "dupacks",
        "label",
        "lastack",
        "lastacktime",
        "lastwin",
        "nextseq",
        "nextseqtime",
        "resets",
        "retrans",
        "rev",
        "rtt",
        "syn_ts",
        "zero_windows",
    )

    def __init__(self, label: bytes) -> None:
        self.label = label  # raw addresses and ports of this direction
        self.nextseq = 0  # 0: unknown (as in Wireshark)
        self.nextseqtime: Stamp = 0
        self.lastack = 0
        self.lastacktime: Stamp = 0
        self.lastwin = -1
        self.dupacks = 0
        self.retrans = 0
        self.resets = 0
        self.zero_windows = 0
        self.syn_ts: Stamp = 0
        self.rtt = 0.0  # first RTT of the connection (shared through the SYN side)
        self.rev: Half = self

    def segment(
        self, ts: Stamp, seq: int, ack: int, flags: int, win: int, seglen: int, secs: ToSeconds = same
    ) -> None:
        """Account one segment sent in this direction (`secs`: a stamp in seconds)."""
        nextseq = self.nextseq
        if seq == nextseq and win and not flags & 0x07:
            # the common case: in order, no SYN/FIN/RST, window open
            if seglen:
                self.nextseq = (seq + seglen) & M32
                self.nextseqtime = ts
            if flags & ACK:
                if ack != self.lastack:
                    self.lastack = ack
                    self.lastacktime = ts
                    self.dupacks = 0
                    if self.syn_ts and not self.rtt:
                        self.rtt = secs(ts) - secs(self.syn_ts)  # the SYN's sender acknowledges: first RTT
                elif not seglen and win == self.lastwin:
                    self.dupacks += 1
            self.lastwin = win
            return
        rev = self.rev
        if flags & RST:
            self.resets += 1
        elif win == 0 and not flags & (SYN | FIN):
            self.zero_windows += 1
        synfin = 1 if flags & (SYN | FIN) else 0
        if (seglen or synfin) and nextseq:
            keepalive = seglen <= 1 and not synfin and not flags & RST and ((nextseq - 1) & M32) == seq
            if not keepalive:
                not_advanced = ((seq - nextseq) & M32) >= HALF
                if seglen > 1 and ((nextseq - 1) & M32) == seq:
                    not_advanced = False
                if not_advanced:
                    if (
                        rev.dupacks >= 2
                        and rev.lastack == seq
                        and secs(ts) - secs(rev.lastacktime) < FAST_RETRANS_WINDOW_S
                    ):
                        self.retrans += 1  # fast retransmission
                    else:
                        rtt = self.rtt or rev.rtt or DEFAULT_OOO_S
                        end = (seq + seglen + synfin) & M32
                        if secs(ts) - secs(self.nextseqtime) < rtt and nextseq != end:
                            pass  # out of order
                        elif seglen and rev.lastack and ((rev.lastack - (seq + seglen)) & M32) < HALF:
                            pass  # spurious: the data was already acknowledged
                        else:
                            self.retrans += 1
        end = (seq + seglen + synfin) & M32
        if not nextseq or ((nextseq - end) & M32) >= HALF:
            self.nextseq = end
            self.nextseqtime = ts
        if flags & SYN:
            if flags & ACK:
                pass
            elif not self.syn_ts:
                self.syn_ts = ts
        if flags & ACK:
            if ack == self.lastack:
                if not seglen and not flags & (SYN | FIN | RST) and win == self.lastwin:
                    self.dupacks += 1
            else:
                self.lastack = ack
                self.lastacktime = ts
                self.dupacks = 0
                if self.syn_ts and not self.rtt and not flags & SYN:
                    self.rtt = secs(ts) - secs(self.syn_ts)  # the SYN's sender acknowledges: first RTT
        self.lastwin = win
