"""The mesh probe's two halves, run on every host of the fleet (`netsleuth fleet probe`).

- `Listener` (one per host, for the whole probe): sees the probes addressed to it, at three points
  of its receive path:
    * at the NIC: an AF_PACKET socket (before the firewall; filtered in the kernel to UDP to the
      probed port, then to this run's token),
    * past the firewall: a raw IPPROTO_UDP socket, which the kernel hands a copy of every UDP
      packet only once it has passed the INPUT chain (ip_local_deliver -> raw_local_deliver), so it
      works while the VXLAN port is held by the kernel's own vxlan socket: nothing is stopped,
    * by a socket bound to the port, when the port is free (a confirmation, not needed).
  It never answers anything (no reflection) and stops by itself after its lifetime.
- `send()` (on every host, once every listener is up): toward each peer given (the controller gives
  only inventory addresses) ICMP echo, the path MTU by a DF search with ICMP echo, and a few UDP
  packets to the probed port carrying the token, while an AF_PACKET socket watches them leave
  (a packet dropped by the sender's own OUTPUT chain never reaches its egress tap). Rate-limited:
  at most 8 peers at once, at most 10 packets a second to each.

Payload of a UDP probe: b"NSLM" + token (16 bytes) + name length (1) + sequence (4) + sender's name.
Needs root (CAP_NET_RAW) for the AF_PACKET and raw sockets; without it each point that cannot be
watched is reported as not observed (null), never as lost.
"""

import ctypes
import errno
import json
import os
import select
import signal
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Set, Tuple

MAGIC = b"NSLM"
TOKEN_LEN = 16
ETH_P_ALL, ETH_P_IP = 0x0003, 0x0800
SKF_AD_PROTOCOL = 0xFFFFF000  # BPF's ancillary load of skb->protocol
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
IP_MTU_DISCOVER, IP_PMTUDISC_PROBE, IP_MTU = 10, 3, 14
UDP_COUNT = 5  # probes to each peer
UDP_GAP_S = 0.1  # between two probes to one peer: 10 a second
PEERS_AT_ONCE = 8
MIN_PMTU = 552


def payload(token: bytes, src: str, seq: int) -> bytes:
    """A UDP probe.

    >>> p = payload(b"t" * 16, "hv1", 7); parse(b"t" * 16, p)
    ('hv1', 7)
    >>> parse(b"u" * 16, p) is None, parse(b"t" * 16, p[:-1]) is None
    (True, True)
    """
    name = src.encode()[:64]
    return MAGIC + token + struct.pack("!BI", len(name), seq) + name


def parse(token: bytes, data: bytes) -> Optional[Tuple[str, int]]:
    """(sender, sequence) of a probe of this run, or None."""
    head = len(MAGIC) + TOKEN_LEN
    if len(data) < head + 5 or data[:head] != MAGIC + token:
        return None
    n, seq = struct.unpack("!BI", data[head : head + 5])
    name = data[head + 5 : head + 5 + n]
    if len(name) != n:
        return None
    return name.decode(errors="replace"), seq


def udp_filter(port: int, ipv4_only: bool = False) -> bytes:
    """Classic BPF over a packet starting at its IPv4 header: UDP to `port`, not a later fragment.
    `ipv4_only`: first check the packet is IPv4 at all (a socket of every protocol)."""
    ins = [
        (0x30, 0, 0, 9),  # ldb [9]: protocol
        (0x15, 0, 6, 17),  # jeq UDP, else drop
        (0x28, 0, 0, 6),  # ldh [6]: flags + fragment offset
        (0x45, 4, 0, 0x1FFF),  # jset offset: a later fragment, drop
        (0xB1, 0, 0, 0),  # ldxb 4*([0]&0xf): IP header length
        (0x48, 0, 0, 2),  # ldh [x+2]: UDP destination port
        (0x15, 0, 1, port),  # jeq port, else drop
        (0x06, 0, 0, 0xFFFF),  # ret: keep
        (0x06, 0, 0, 0),  # ret: drop
    ]
    if ipv4_only:
        ins = [(0x28, 0, 0, SKF_AD_PROTOCOL), (0x15, 0, len(ins) - 1, ETH_P_IP), *ins]
    return b"".join(struct.pack("HBBI", *i) for i in ins)


def attach(sock: socket.socket, prog: bytes) -> None:
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack("HL", len(prog) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _udp_of(ip: bytes) -> bytes:
    """The UDP payload of an IPv4 packet."""
    ihl = (ip[0] & 0x0F) * 4 if ip else 0
    return ip[ihl + 8 :]


def packet_socket(port: int, outgoing: bool = False) -> socket.socket:
    """An AF_PACKET socket on every interface, packets from their IP header on, UDP to `port`.
    The kernel hands packets being sent only to sockets of every protocol (ETH_P_ALL)."""
    proto = ETH_P_ALL if outgoing else ETH_P_IP
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(proto))
    attach(s, udp_filter(port, ipv4_only=outgoing))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    return s


class Listener:
    """Watch for this run's probes at the NIC, past the firewall, and on the port when it is free."""

    def __init__(self, port: int, token: bytes) -> None:
        self.port, self.token = port, token
        self.why: List[str] = []
        self.nic = self._open("at the NIC (AF_PACKET)", lambda: packet_socket(port))
        self.raw = self._open("past the firewall (raw UDP socket)", self._raw)
        self.bound = self._open("on the port", self._bind)
        self.seen: Dict[str, Dict[str, Set[int]]] = {}

    def _open(self, what: str, make: Any) -> Optional[socket.socket]:
        try:
            return make()  # type: ignore[no-any-return]
        except OSError as exc:
            reason = (
                "port held by another socket (e.g. the kernel's vxlan)"
                if exc.errno == errno.EADDRINUSE
                else (exc.strerror or str(exc))
            )
            self.why.append("{}: not watched: {}".format(what, reason))
            return None

    def _raw(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        attach(s, udp_filter(self.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        return s

    def _bind(self) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("0.0.0.0", self.port))
        except OSError:
            s.close()
            raise
        return s

    def capture(self) -> Dict[str, Any]:
        return {
            "nic": self.nic is not None,
            "delivered": self.raw is not None or self.bound is not None,
            "why": self.why,
        }

    def _note(self, point: str, data: bytes) -> None:
        got = parse(self.token, data)
        if got is not None:
            self.seen.setdefault(got[0], {"nic": set(), "delivered": set()})[point].add(got[1])

    def run(self, until: float, stop: List[bool]) -> None:
        socks = [s for s in (self.nic, self.raw, self.bound) if s is not None]
        while not stop[0] and socks:
            left = until - time.monotonic()
            if left <= 0:
                break
            try:
                ready, _, _ = select.select(socks, [], [], min(left, 0.5))
            except InterruptedError:
                continue
            for s in ready:
                try:
                    if s is self.nic:
                        data, addr = s.recvfrom(65535)
                        if addr[2] != PACKET_OUTGOING:
                            self._note("nic", _udp_of(data))
                    elif s is self.raw:
                        self._note("delivered", _udp_of(s.recv(65535)))
                    else:
                        self._note("delivered", s.recv(65535))
                except OSError:
                    continue

    def result(self) -> Dict[str, Any]:
        return {
            "port": self.port,
            "capture": self.capture(),
            "seen": {src: {k: sorted(v) for k, v in pts.items()} for src, pts in self.seen.items()},
        }

    def close(self) -> None:
        for s in (self.nic, self.raw, self.bound):
            if s is not None:
                s.close()


# ---- the sending side ----------------------------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo(ident: int, seq: int, size: int) -> bytes:
    body = b"netsleuth-mesh".ljust(max(0, size - 28), b".")
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(head + body), ident, seq) + body


def ping(address: str, size: int = 84, count: int = 2, wait_s: float = 0.6) -> Tuple[Optional[bool], str]:
    """ICMP echo of `size` bytes (IP) with DF set: (answered, note); None when it cannot be sent."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except OSError as exc:
        return None, "ICMP not sent: {}".format(exc.strerror)
    ident = (os.getpid() ^ id(s)) & 0xFFFF
    note = ""
    try:
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
        for seq in range(count):
            try:
                s.sendto(_echo(ident, seq, size), (address, 0))
            except OSError as exc:
                if exc.errno == errno.EMSGSIZE:
                    return False, "larger than the local interface's MTU"
                return False, exc.strerror or str(exc)
            deadline = time.monotonic() + wait_s
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([s], [], [], left)
                if not r:
                    break
                data, peer = s.recvfrom(65535)
                icmp = data[(data[0] & 0x0F) * 4 :]
                if len(icmp) < 8:
                    continue
                typ, code = icmp[0], icmp[1]
                if typ == 0 and peer[0] == address and struct.unpack("!H", icmp[4:6])[0] == ident:
                    return True, ""
                if typ == 3 and code == 4 and len(icmp) >= 36:
                    inner = icmp[8:]
                    if socket.inet_ntoa(inner[16:20]) == address:
                        note = "ICMP frag-needed from {}: next-hop MTU {}".format(
                            peer[0], struct.unpack("!H", icmp[6:8])[0]
                        )
        return False, note
    finally:
        s.close()


def route_mtu(address: str) -> int:
    """The MTU of the route toward `address` (the interface's, or the route's own)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((address, 9))
        return int(s.getsockopt(socket.IPPROTO_IP, IP_MTU))
    except OSError:
        return 1500
    finally:
        s.close()


def path_mtu(address: str) -> Tuple[Optional[int], str]:
    """The largest IP packet with DF set that gets an echo reply: the route's MTU first, then a
    binary search below it. (None, why) when not even a small one is answered."""
    hi = route_mtu(address)
    ok, note = ping(address, hi)
    if ok:
        return hi, ""
    if ok is None:
        return None, note
    small, _ = ping(address, MIN_PMTU)
    if not small:
        return None, note or "no echo reply to {} bytes with DF".format(MIN_PMTU)
    lo, top = MIN_PMTU, hi - 1  # lo passes, hi does not
    while lo < top:
        mid = (lo + top + 1) // 2
        passed, n = ping(address, mid, count=1)
        note = note or n
        if passed:
            lo = mid
        else:
            top = mid - 1
    return lo, note or "{} bytes with DF are lost".format(hi)


class Egress:
    """Watch this run's UDP probes leave (AF_PACKET, outgoing packets)."""

    def __init__(self, port: int, token: bytes) -> None:
        self.token = token
        self.left: Set[int] = set()
        self.sock: Optional[socket.socket] = None
        self.why = ""
        try:
            self.sock = packet_socket(port, outgoing=True)
        except OSError as exc:
            self.why = "leaving not watched: {}".format(exc.strerror)

    def drain(self, wait_s: float) -> None:
        if self.sock is None:
            return
        deadline = time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.sock], [], [], max(0.0, left))
            if not r:
                return
            data, addr = self.sock.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                got = parse(self.token, _udp_of(data))
                if got is not None:
                    self.left.add(got[1])


def _ipv4(address: str) -> Optional[str]:
    """The IPv4 address to probe for an inventory address (a name is resolved once); None: none."""
    try:
        return str(socket.getaddrinfo(address, None, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0])
    except (OSError, IndexError, UnicodeError):
        return None


def _probe_peer(me: str, index: int, name_or_ip: str, port: int, token: bytes) -> Dict[str, Any]:
    address = _ipv4(name_or_ip)
    if address is None:
        why = "{}: no IPv4 address (the mesh probe is IPv4 only)".format(name_or_ip)
        return {"address": name_or_ip, "icmp": "skipped", "pmtu": None, "udp_sent": [], "detail": why}
    answered, why = ping(address)
    icmp = "skipped" if answered is None else ("ok" if answered else "lost")
    pmtu, pwhy = path_mtu(address) if answered else (None, "")
    sent: List[int] = []
    err = ""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(UDP_COUNT):
            seq = index * 1000 + i
            sent.append(seq)  # tried: a send this host refuses (EPERM from its own firewall) never leaves
            try:
                s.sendto(payload(token, me, seq), (address, port))
            except OSError as exc:
                err = "UDP refused by this host: {}".format(exc.strerror or exc)
            time.sleep(UDP_GAP_S)
    detail = "; ".join(x for x in (why, pwhy, err) if x)
    return {"address": address, "icmp": icmp, "pmtu": pmtu, "udp_sent": sent, "detail": detail}


def send(me: str, peers: Dict[str, str], port: int, token: bytes) -> Dict[str, Any]:
    """Probe every peer (name -> address); returns what was sent and seen leaving, per peer."""
    egress = Egress(port, token)
    names = sorted(peers)
    with ThreadPoolExecutor(max_workers=PEERS_AT_ONCE) as pool:
        futures = {n: pool.submit(_probe_peer, me, i + 1, peers[n], port, token) for i, n in enumerate(names)}
        while not all(f.done() for f in futures.values()):
            egress.drain(0.2)
        results = {n: f.result() for n, f in futures.items()}
    egress.drain(0.3)
    for r in results.values():
        r["udp_left"] = sorted(set(r["udp_sent"]) & egress.left) if egress.sock is not None else None
    if egress.sock is not None:
        egress.sock.close()
    return {
        "host": me,
        "port": port,
        "left_watched": egress.sock is not None,
        "why": egress.why,
        "results": results,
    }


# ---- the listener as a background process on the host --------------------------------------------

MARK = "netsleuth-mesh"


def start_listener(state: str, port: int, token: bytes, lifetime_s: float) -> Dict[str, Any]:
    """Start the listener in the background (it outlives the SSH session and the copied collector:
    everything it needs is loaded first); returns once it listens."""
    os.mkdir(state, 0o700)
    with open(os.path.join(state, MARK), "w") as fh:
        fh.write("a netsleuth fleet probe listener's state\n")
    listener = Listener(port, token)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the listener
        os.close(ready_r)
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            _serve(state, listener, lifetime_s, ready_w)
        finally:
            os._exit(0)
    os.close(ready_w)
    with os.fdopen(ready_r) as ready:
        ok = ready.read()
    listener.close()
    if not ok:
        raise OSError("the listener did not start")
    return {"pid": pid, "state": state, "port": port, "capture": listener.capture()}


def _serve(state: str, listener: Listener, lifetime_s: float, ready_w: int) -> None:
    stop = [False]

    def on_term(signum: int, frame: Any) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with open(os.path.join(state, "pid"), "w") as fh:
        fh.write("{} {}\n".format(os.getpid(), _start_time(os.getpid())))
    os.write(ready_w, b"1")
    os.close(ready_w)
    listener.run(time.monotonic() + lifetime_s, stop)
    listener.close()
    if not stop[0]:  # its lifetime ran out: nobody is coming for the result, leave nothing behind
        import shutil

        shutil.rmtree(state, ignore_errors=True)
        return
    tmp = os.path.join(state, "result.json.part")
    with open(tmp, "w") as fh:
        json.dump(listener.result(), fh)
    os.replace(tmp, os.path.join(state, "result.json"))


def _start_time(pid: int) -> Optional[str]:
    try:
        with open("/proc/{}/stat".format(pid)) as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str) -> bool:
    """The process `pid` started at `started` still runs (a zombie no longer does)."""
    try:
        with open("/proc/{}/stat".format(pid)) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return len(fields) > 19 and fields[19] == started and fields[0] != "Z"


def stop_listener(state: str, wait_s: float = 5.0) -> Dict[str, Any]:
    """Stop the listener of `state` (only ours: the pid's start time must match), return what it saw,
    and remove its state."""
    import shutil

    if not os.path.exists(os.path.join(state, MARK)):
        return {"error": "no listener state at {}".format(state)}
    try:
        with open(os.path.join(state, "pid")) as fh:
            pid_s, started = ([*fh.read().split(), ""])[:2]
        pid = int(pid_s)
    except (OSError, ValueError):
        pid, started = 0, ""
    result_file = os.path.join(state, "result.json")
    if pid and _start_time(pid) == started and not os.path.exists(result_file):
        os.kill(pid, signal.SIGTERM)
        # until the process is gone, not only its result written: a listener still exiting when
        # the stop returns would outlive the probe (seen on a loaded machine)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _alive(pid, started):
            time.sleep(0.05)
        if _alive(pid, started):
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and _alive(pid, started):
                time.sleep(0.05)
    try:
        with open(result_file) as fh:
            doc: Dict[str, Any] = json.load(fh)
    except (OSError, ValueError):
        doc = {"error": "the listener left no result"}
    shutil.rmtree(state, ignore_errors=True)
    return doc
