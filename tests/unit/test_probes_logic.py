"""The probes' own logic without a network: the MTU search, the echo's authentication and rate
limit, percentiles, the JSON of probe evidence (contract A) and the reply parsers."""

from __future__ import annotations

import struct

import pytest

from netsleuth.errors import ParseError
from netsleuth.probes.echo import RateLimit, check_reply, check_request, make_reply, make_request
from netsleuth.probes.icmp import Kind, Outcome, parse_extended_err
from netsleuth.probes.latency import percentile
from netsleuth.probes.mtu import search, verdict
from netsleuth.results.probes import FragNeeded, MtuProbe, from_json, to_json


def path(limit: int, local: int = 9000, frag_from: str = "", lose_every: int = 0):  # type: ignore[no-untyped-def]
    sent = []

    def send(size: int) -> Outcome:
        sent.append(size)
        if size > local:
            return Outcome(Kind.EMSGSIZE)
        if size > limit:
            return Outcome(Kind.FRAG_NEEDED, mtu=limit, sender=frag_from) if frag_from else Outcome(Kind.LOST)
        if lose_every and len(sent) % lose_every == 0:
            return Outcome(Kind.LOST)
        return Outcome(Kind.REPLY)

    return send, sent


@pytest.mark.parametrize("limit", [84, 576, 1280, 1398, 1400, 1499, 1500])
def test_search_finds_the_exact_limit(limit: int) -> None:
    send, sent = path(limit)
    s = search(send, 1500, retries=1)
    assert s.largest_ok == limit
    assert s.lost_above == (None if limit == 1500 else limit + 1)
    assert len(sent) <= 14  # a binary search, not a sweep


def test_blackhole_vs_frag_needed_vs_local() -> None:
    send, _ = path(1400)
    assert verdict(search(send, 1500, retries=2), 1500) == "blackhole"
    send, _ = path(1400, frag_from="10.0.0.1")
    s = search(send, 1500, retries=2)
    assert verdict(s, 1500) == "frag_needed" and s.frag is not None and s.frag.mtu == 1400
    send, _ = path(9000, local=1500)
    s = search(send, 1600, retries=2)
    assert s.local_emsgsize and s.largest_ok == 1500 and verdict(s, 1600) == "ok"


def test_one_lost_packet_is_retried_not_a_blackhole() -> None:
    send, _ = path(1500, lose_every=3)
    s = search(send, 1500, retries=2)
    assert s.largest_ok == 1500


def test_nothing_passes_is_unreachable() -> None:
    s = search(lambda n: Outcome(Kind.LOST), 1500, retries=1)
    assert s.largest_ok is None and verdict(s, 1500) == "unreachable"


def test_icmp_error_queue_frag_needed_parsed() -> None:
    raw = (
        struct.pack("=IBBBBII", 90, 2, 3, 4, 0, 1400, 0)
        + struct.pack("=H", 2)
        + struct.pack("!H4s", 0, bytes([10, 0, 0, 1]))
    )
    assert parse_extended_err(raw) == (90, 2, 3, 4, 1400, "10.0.0.1")


def test_echo_needs_the_token_and_a_fresh_time() -> None:
    req = make_request(b"token-one", now=1000.0, nonce=b"a" * 16)
    assert check_request(b"token-one", req, now=1001.0) == b"a" * 16
    assert check_request(b"token-two", req, now=1001.0) is None
    assert check_request(b"token-one", req, now=1200.0) is None
    assert check_request(b"token-one", req[:-1] + bytes([req[-1] ^ 1]), now=1001.0) is None
    assert check_request(b"token-one", b"x" * 2000, now=1001.0) is None


def test_echo_reply_is_never_larger_than_the_request() -> None:
    req = make_request(b"k" * 8)
    rep = make_reply(b"k" * 8, req[5:21])
    assert len(rep) <= len(req)
    assert check_reply(b"k" * 8, rep, req[5:21])


def test_rate_limit() -> None:
    r = RateLimit(rate=10, burst=10)
    assert sum(r.allow(now=0.0) for _ in range(50)) == 10
    assert sum(r.allow(now=0.5) for _ in range(50)) == 5


def test_percentiles() -> None:
    vals = [float(i) for i in range(1, 101)]
    assert (percentile(vals, 50), percentile(vals, 90), percentile(vals, 99)) == (50.0, 90.0, 99.0)


def test_probe_mtu_json_is_contract_a() -> None:
    p = MtuProbe("10.0.0.2", "eth0", 1500, 1498, False, FragNeeded("10.0.0.1", 1400), 1499, "frag_needed")
    text = to_json(p)
    assert '"icmp_frag_needed": {"from": "10.0.0.1", "mtu": 1400}' in text
    assert from_json(MtuProbe, text) == p
    with pytest.raises(ParseError):
        from_json(MtuProbe, '{"target": 1}')
