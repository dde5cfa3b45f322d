"""The UDP/TCP responder of `netsleuth listen` against a token holder turned hostile: requests that
never expire, captured requests played again, a slow client holding the TCP listener."""

from __future__ import annotations

import socket
import threading

from netsleuth.probes.echo import REQ_LEN, Responder, check_request, listen, make_request, probe_echo

TOKEN = b"lab-token"


def test_a_nan_or_infinite_time_never_passes_the_age_check() -> None:
    for when in (float("nan"), float("inf"), float("-inf")):
        assert check_request(TOKEN, make_request(TOKEN, now=when), now=1000.0) is None
    assert check_request(TOKEN, make_request(TOKEN, now=1000.0), now=1000.0) is not None


def test_a_captured_request_is_never_answered_twice_however_many_come_after() -> None:
    r = Responder(TOKEN, rate=1e9, started=900.0)
    captured = make_request(TOKEN, now=1000.0)
    assert r.answer(captured, "peer", now=1000.0) is not None
    for i in range(5000):  # more than the 4096 nonces the listener used to remember
        assert r.answer(make_request(TOKEN, now=1000.0 + i * 0.01), "peer", now=1000.0 + i * 0.01) is not None
    assert r.answer(captured, "peer", now=1050.0) is None
    assert r.stats.accepted == 5001 and r.stats.rejected == 1


def test_a_restarted_listener_refuses_requests_captured_before_it_started() -> None:
    captured = make_request(TOKEN, now=1000.0)
    first = Responder(TOKEN, started=990.0)
    assert first.answer(captured, "peer", now=1001.0) is not None
    restarted = Responder(TOKEN, started=1005.0)  # within the minute of the request's time
    assert restarted.answer(captured, "peer", now=1010.0) is None
    assert restarted.answer(make_request(TOKEN, now=1010.0), "peer", now=1010.0) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_one_slow_tcp_client_does_not_hold_up_the_others() -> None:
    port = _free_port()
    ready = threading.Event()
    result: list[object] = []
    t = threading.Thread(
        target=lambda: result.append(
            listen("tcp", port, TOKEN, lifetime_s=10, max_replies=2, bind="127.0.0.1", ready=ready.set)
        ),
        daemon=True,
    )
    t.start()
    assert ready.wait(5)
    slow = socket.create_connection(("127.0.0.1", port))
    slow.send(make_request(TOKEN)[: REQ_LEN // 2])  # half a request, then nothing
    try:  # each probe waits 1 s for its reply: less than the 2 s the slow client may take
        got = probe_echo("tcp", "127.0.0.1", port, TOKEN, count=2, interval_s=0.05, wait_s=1.0, icmp=False)
    finally:
        slow.close()
    t.join(10)
    assert got.answered == 2, got
