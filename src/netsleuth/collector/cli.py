"""The collector's command line (what `python3 netsleuth-collect.pyz ...` runs on a host).

    collect -o FILE [--timeout S] [--interval S] [--netns NAME]... [--all-netns] [--no-redact] [-q]
    mesh-listen --state DIR --port P --token HEX --lifetime S
    mesh-send --host NAME --peers JSON --port P --token HEX
    mesh-stop --state DIR

Exit status: 0 done, 3 could not run (one line on stderr), 64 usage.
"""

import argparse
import binascii
import json
import sys
from typing import List, Optional

from netsleuth.collector.model import HOST

VERSION = "netsleuth-collect 1"


def _fail(msg: str, code: int = 3) -> int:
    sys.stderr.write("netsleuth-collect: " + " ".join(msg.split()) + "\n")
    return code


def _collect(a: argparse.Namespace) -> int:
    from netsleuth.collector.bundle import check_writable, write_bundle
    from netsleuth.collector.catalogue import load
    from netsleuth.collector.live import Options, collect, list_netns

    scopes: List[str] = [HOST]
    if a.all_netns:
        scopes += list_netns(a.timeout)
    elif a.netns:
        known = set(list_netns(a.timeout))
        unknown = [n for n in a.netns if n not in known]
        if unknown:
            return _fail(
                "no network namespace named {} on this host (see `ip netns list`)".format(", ".join(unknown))
            )
        scopes = list(a.netns)
    check_writable(a.output)  # before collecting: a missing folder is said at once
    got = collect(load(), Options(a.timeout, a.interval, scopes, redact=not a.no_redact))
    write_bundle(
        a.output, got.records, got.hostname, got.kernel, got.collected_at, got.scopes, notes=got.notes
    )
    if not a.quiet:
        bad = sum(1 for r in got.records if not r.ok)
        sys.stderr.write(
            "netsleuth-collect: wrote {} ({} pieces of evidence, {} not ok)\n".format(
                a.output, len(got.records), bad
            )
        )
    return 0


def _token(text: str) -> bytes:
    raw = binascii.unhexlify(text)
    if len(raw) != 16:
        raise ValueError("the token is 16 bytes in hex")
    return raw


def _print(doc: object) -> int:
    sys.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="netsleuth-collect", description="netsleuth's collector (standard library only)."
    )
    p.add_argument("--version", action="version", version=VERSION)
    sub = p.add_subparsers(dest="cmd")
    c = sub.add_parser("collect", help="collect this host's evidence into a bundle")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--timeout", type=float, default=2.0)
    c.add_argument("--interval", type=float, default=1.0)
    c.add_argument("--netns", action="append", default=[])
    c.add_argument("--all-netns", action="store_true")
    c.add_argument("-q", "--quiet", action="store_true")
    c.add_argument("--no-redact", action="store_true", help="keep credentials in command lines")
    ml = sub.add_parser("mesh-listen", help="start the mesh probe's listener in the background")
    ml.add_argument("--state", required=True)
    ml.add_argument("--port", type=int, required=True)
    ml.add_argument("--token", required=True)
    ml.add_argument("--lifetime", type=float, default=120.0)
    ms = sub.add_parser("mesh-send", help="probe the peers")
    ms.add_argument("--host", required=True)
    ms.add_argument("--peers", required=True, help='JSON {"name": "address"}')
    ms.add_argument("--port", type=int, required=True)
    ms.add_argument("--token", required=True)
    mt = sub.add_parser("mesh-stop", help="stop the listener, print what it saw")
    mt.add_argument("--state", required=True)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    p = parser()
    try:
        a = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and 64
    try:
        if a.cmd == "collect":
            return _collect(a)
        if a.cmd == "mesh-listen":
            from netsleuth.collector.mesh import start_listener

            return _print(start_listener(a.state, a.port, _token(a.token), min(a.lifetime, 900.0)))
        if a.cmd == "mesh-send":
            from netsleuth.collector.mesh import send

            peers = json.loads(a.peers)
            return _print(send(a.host, {str(k): str(v) for k, v in peers.items()}, a.port, _token(a.token)))
        if a.cmd == "mesh-stop":
            from netsleuth.collector.mesh import stop_listener

            return _print(stop_listener(a.state))
        p.print_usage(sys.stderr)
        return 64
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except (OSError, ValueError) as exc:
        return _fail("{}: {}".format(a.cmd, exc))


if __name__ == "__main__":
    sys.exit(main())
