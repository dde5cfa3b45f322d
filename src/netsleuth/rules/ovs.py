"""Open vSwitch (seed 000): `ovs-vsctl show` answers, so ovsdb-server is alive; `ovs-ofctl
dump-flows br-int` hangs, so ovs-vswitchd is not answering; its log says `Unreasonably long
16518ms poll interval` and `Broken pipe`. Every VM behind it is cut off: restart it, and
watch it with a bounded probe rather than waiting for the next outage."""

from __future__ import annotations

import re
from collections.abc import Iterator

from netsleuth.facts.logs import LogEvents, age_words
from netsleuth.facts.nic import Datapaths
from netsleuth.facts.ovs import OvsHome, OvsState
from netsleuth.messages import Msg
from netsleuth.rules.base import Cmd, Finding, RemedyLine, Seen, Severity, Skip, rule
from netsleuth.rules.where import ovs_cmd, ovs_enable, ovs_restart, watchdog_cron

RECENT_S = 3600.0


def _log_seen(logs: LogEvents | None, *ids: str) -> list[Seen]:
    seen: list[Seen] = []
    if logs is None:
        return seen
    for pid in ids:
        ev = logs.get(pid)
        if ev.count and ev.last is not None:
            seen.append(Seen(ev.last.source, "\n".join(ev.excerpt())))
    return seen


@rule(
    "ovs.vswitchd_unresponsive",
    needs=(OvsState,),
    optional=(LogEvents, OvsHome),
    seed="000",
    severity=Severity.CRITICAL,
    scope="host",
)
def vswitchd_unresponsive(ovs: OvsState, logs: LogEvents | None, home: OvsHome | None) -> Iterator[Finding]:
    """ovsdb-server answers but ovs-vswitchd does not: flows are not served, VMs lose the network."""
    if not ovs.db_answers:
        return
    hung = ovs.hung_calls
    stopped = [p for p in ovs.vswitchd if p.stopped]
    absent = ovs.processes_known and not ovs.vswitchd and ovs.vswitchd_calls and not ovs.answered_calls
    if not hung and not absent:
        return
    seen = [Seen(ovs.vsctl.source, f"answered in {ovs.vsctl.duration_s:.2f} s (ovsdb-server is alive)")]
    for ev in hung or ovs.vswitchd_calls:
        seen.append(Seen(ev.source, ev.error or ev.status.value))
    for p in stopped:
        seen.append(Seen("ps", f"pid {p.pid} STAT {p.stat}: {p.command[:120]}"))
    seen += _log_seen(logs, "ovs_poll_interval_long", "ovs_broken_pipe")
    yield Finding(
        Severity.CRITICAL,
        subject="ovs-vswitchd",
        params={
            "calls": ", ".join(ev.source for ev in hung) or Msg("none"),
            "timeout": f"{max((ev.duration_s for ev in hung), default=0):.1f}",
            "state": Msg("state_stopped" if stopped else ("state_absent" if absent else "state_silent")),
            "pid": stopped[0].pid if stopped else (ovs.vswitchd[0].pid if ovs.vswitchd else "?"),
        },
        seen=seen,
        now=[
            *(Cmd(f"kill -CONT {p.pid}", Msg("c_it_is_stopped")) for p in stopped),
            *(
                Cmd(f"cat /proc/{p.pid}/stack; timeout 5 strace -p {p.pid}", Msg("c_where_stuck"))
                for p in ovs.vswitchd[:1]
            ),
            *ovs_restart(home, "ovs-vswitchd"),
        ],
        persist=[
            watchdog_cron(home),
            Msg("do_upgrade"),
        ],
        seed="000",
    )


_TIMED_OUT = re.compile(r"^no answer within (\S+) s \(killed\)$")  # the runner's wording of a timeout


def _vsctl_error(error: str) -> Msg | str:
    """The error of `ovs-vsctl`: quoted as it is, except netsleuth's own timeout note (worded)."""
    m = _TIMED_OUT.match(error)
    return Msg("error_timeout", {"seconds": m.group(1)}) if m else error


_LOG_FILE = re.compile(r"--log-file=(\S+)")


def _db_look(ovs: OvsState, home: OvsHome | None) -> list[RemedyLine]:
    """Where to look at ovsdb-server: its socket and its log on the host (in a snap, under the
    snap's directory, as its daemons' command lines say), its container's state and output."""
    if home is None:
        home = OvsHome()
    if home.in_container:
        db = home.ovsdb or home.name
        return [f"{home.kind} ps -a --filter name={db}", f"{home.kind} logs --tail 50 {db}"]
    if home.kind == "snap":
        base = f"/var/snap/{home.name}/common"
        logs = [m.group(1) for p in ovs.ovsdb for m in [_LOG_FILE.search(p.command)] if m]
        log = logs[0] if logs else f"{base}/log/openvswitch/ovsdb-server.log"
        return [f"ls -l {base}/run/openvswitch/db.sock; tail -n 50 {log}"]
    return ["ls -l /var/run/openvswitch/db.sock; tail -n 50 /var/log/openvswitch/ovsdb-server.log"]


@rule(
    "ovs.ovsdb_unreachable",
    needs=(OvsState,),
    optional=(LogEvents, OvsHome),
    seed="000",
    severity=Severity.CRITICAL,
    scope="host",
)
def ovsdb_unreachable(ovs: OvsState, logs: LogEvents | None, home: OvsHome | None) -> Iterator[Finding]:
    """ovsdb-server does not answer: no port can be added or changed, agents fail."""
    if ovs.db_answers:
        return
    yield Finding(
        Severity.CRITICAL,
        subject="ovsdb-server",
        params={
            "error": _vsctl_error(ovs.vsctl.error or ovs.vsctl.status.value),
            "state": Msg("state_running" if ovs.ovsdb else "state_absent"),
        },
        seen=[
            Seen(ovs.vsctl.source, f"{ovs.vsctl.status.value}: {ovs.vsctl.error}"),
            *(Seen("ps", f"pid {p.pid} STAT {p.stat}: {p.command[:120]}") for p in ovs.ovsdb + ovs.vswitchd),
            *_log_seen(logs, "ovs_db_unreachable"),  # ovs-vswitchd's side: it lost its database
        ],
        now=[*_db_look(ovs, home), *ovs_restart(home, "ovsdb-server")],
        persist=[ovs_enable(home)],
        seed="000",
    )


@rule(
    "ovs.poll_interval_long",
    needs=(LogEvents,),
    optional=(OvsState, OvsHome),
    seed="000",
    severity=Severity.WARNING,
    scope="host",
)
def poll_interval_long(logs: LogEvents, ovs: OvsState | None, home: OvsHome | None) -> Iterator[Finding]:
    """ovs-vswitchd logged long poll intervals recently but answers now: it is struggling."""
    # the log is evidence on its own: a report without `ovs-vsctl show` (OvsState unknown) or
    # without its own clock (`date`, the manifest: the lines' age unknown) still shows them
    if not (logs.read("ovs_vswitchd") or logs.read("ovs_ovsdb")):
        raise Skip(Msg("no_ovs_log"))
    ev = logs.get("ovs_poll_interval_long")
    age = ev.newest_age_s
    if not ev.count or (ovs is not None and ovs.hung_calls) or (age is not None and age > RECENT_S):
        return
    worst = max((int(e.match.get("ms", 0)) for e in ev.samples), default=0)
    yield Finding(
        Severity.WARNING,
        subject="ovs-vswitchd",
        params={
            "count": ev.count,
            "worst_ms": worst,
            "state": Msg("state_answers" if ovs is not None else "state_unknown"),
            "age": age_words(age),
        },
        seen=_log_seen(logs, "ovs_poll_interval_long", "ovs_broken_pipe"),
        now=[
            ovs_cmd(home, "ovs-appctl coverage/show; ovs-appctl upcall/show; top -H -p $(pidof ovs-vswitchd)")
        ],
        persist=[watchdog_cron(home)],
        seed="000",
    )


OFPORT_FAILED = "ofport -1 (Open vSwitch could not attach it)"  # quoted as evidence; worded by Msg


def _is_error(row: dict[str, object]) -> str:
    """The problem of an Interface row: its `error` text, or ofport -1 (OVS could not attach it)."""
    err = row.get("error")
    if isinstance(err, str) and err:
        return err
    if row.get("ofport") == -1:
        return OFPORT_FAILED
    return ""


@rule(
    "ovs.interface_error",
    needs=(OvsState,),
    optional=(OvsHome,),
    seed="004",
    severity=Severity.WARNING,
    scope="host",
)
def interface_error(ovs: OvsState, home: OvsHome | None) -> Iterator[Finding]:
    """An OVS Interface row has `error` set or ofport -1: the port exists in the database, not in the switch."""
    if "interfaces" in ovs.unread:  # no listing is not "no interface in error"
        raise Skip(ovs.unread["interfaces"])
    bridge_of = {str(row.get("name")): br for br, rows in ovs.bridge_interfaces().items() for row in rows}
    for row in ovs.interfaces:
        problem = _is_error(row)
        name = str(row.get("name", ""))
        if not problem or not name:
            continue
        bridge = bridge_of.get(name, "")
        missing = "No such device" in problem
        now: list[RemedyLine] = [f"ip link show {name}", ovs_cmd(home, f"ovs-vsctl list Interface {name}")]
        if bridge:
            now.append(
                Cmd(
                    ovs_cmd(home, f"ovs-vsctl del-port {bridge} {name}"),
                    Msg("c_gone_for_good", {"name": name}),
                )
                if missing
                else Cmd(
                    ovs_cmd(
                        home, f"ovs-vsctl del-port {bridge} {name} && ovs-vsctl add-port {bridge} {name}"
                    ),
                    Msg("c_after_fixing"),
                )
            )
        yield Finding(
            Severity.WARNING,
            subject=name,
            params={
                "iface": name,
                "bridge": bridge or "?",
                "error": Msg("ofport_failed") if problem == OFPORT_FAILED else problem,
                "ofport": row.get("ofport", "?"),
            },
            seen=[
                Seen("ovs-vsctl list Interface", f'name={name} ofport={row.get("ofport")} error="{problem}"')
            ],
            now=now,
            persist=[Msg("do_exist_at_boot", {"name": name, "bridge": bridge or Msg("its_bridge")})],
            seed="004",
        )


@rule(
    "ovs.datapath_lost",
    needs=(Datapaths,),
    optional=(OvsHome,),
    seed="004",
    severity=Severity.WARNING,
    scope="host",
)
def datapath_lost(dps: Datapaths, home: OvsHome | None) -> Iterator[Finding]:
    """The datapath's `lost:` counter grows: packets that missed the kernel flow cache were dropped before ovs-vswitchd saw them."""
    for dp in dps.datapaths:
        rate = dps.lost_rate(dp)
        after = dps.later.get(dp.name)
        if dp.lost <= 0 and (after is None or after.lost <= 0):
            continue
        if rate is not None and rate.measured:
            severity = Severity.WARNING if rate.delta > 0 else Severity.INFO
            how = (
                Msg(
                    "how_growing",
                    {
                        "delta": rate.delta,
                        "seconds": f"{rate.seconds:.1f}",
                        "per_s": f"{rate.per_second:.1f}",
                    },
                )
                if rate.delta > 0
                else Msg("how_flat", {"seconds": f"{rate.seconds:.1f}"})
            )
        elif rate is not None:
            severity = Severity.WARNING
            how = Msg("how_average", {"per_s": f"{rate.per_second:.3f}"})
        else:
            severity = Severity.WARNING
            how = Msg("how_unknown")
        lines = dp.lookups_line + (f"\n(later) {after.lookups_line}" if after else "")
        yield Finding(
            severity,
            subject=dp.name,
            params={"dp": dp.name, "lost": dp.lost, "missed": dp.missed, "how": how},
            seen=[Seen(dps.source, f"{dp.name}:\n\t{lines}")],
            now=[
                Cmd(ovs_cmd(home, "ovs-appctl upcall/show"), Msg("c_upcall_show")),
                ovs_cmd(home, "ovs-appctl coverage/show | grep -iE 'upcall|drop'"),
                Cmd("top -H -p $(pidof ovs-vswitchd)", Msg("c_threads_pegged")),
            ],
            persist=[
                Msg("do_more_handlers", {"vsctl": ovs_cmd(home, "ovs-vsctl")}),
            ],
            seed="004",
        )


@rule(
    "ovs.kernel_netlink_mismatch",
    needs=(LogEvents,),
    optional=(OvsHome,),
    seed="003",
    severity=Severity.WARNING,
    scope="host",
)
def kernel_netlink_mismatch(logs: LogEvents, home: OvsHome | None) -> Iterator[Finding]:
    """Kernel says `openvswitch: netlink: Key type N is out of range max M`: userspace OVS is newer than the kernel module."""
    if not logs.read("kernel"):
        raise Skip(Msg("no_kernel_log_only", {"sources": ", ".join(logs.sources)}))
    ev = logs.get("ovs_netlink_key_range")
    if not ev.count or ev.last is None:
        return
    age = ev.newest_age_s
    severity = Severity.WARNING if age is None or age <= RECENT_MISMATCH_S else Severity.INFO
    yield Finding(
        severity,
        subject="openvswitch kernel module",
        params={
            "key": ev.last.match.get("key", "?"),
            "max": ev.last.match.get("max", "?"),
            "count": ev.count,
            "age": age_words(age),
        },
        seen=[Seen(ev.last.source, "\n".join(ev.excerpt()))],
        now=[
            ovs_cmd(
                home, "modinfo openvswitch | grep -E '^(version|srcversion|vermagic)'; ovs-vswitchd --version"
            ),
            ovs_cmd(home, "ovs-appctl dpif/show-dp-features system@ovs-system 2>/dev/null"),
        ],
        persist=[
            Msg("do_matching_userspace"),
        ],
        seed="003",
    )


RECENT_MISMATCH_S = 86400.0
