"""Open vSwitch (seed 000): `ovs-vsctl show` answers, so ovsdb-server is alive; `ovs-ofctl
dump-flows br-int` hangs, so ovs-vswitchd is not answering; its log says `Unreasonably long
16518ms poll interval` and `Broken pipe`. Every VM behind it is cut off: restart it, and
watch it with a bounded probe rather than waiting for the next outage."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.logs import LogEvents
from netsleuth.facts.ovs import OvsState
from netsleuth.rules.base import Finding, Seen, Severity, rule

RECENT_S = 3600.0
WATCHDOG_CRON = (
    "* * * * * root timeout -s KILL 5 ovs-appctl -t ovs-vswitchd version >/dev/null || "
    "systemctl restart openvswitch-switch  # /etc/cron.d/netsleuth-ovs-watch"
)


def _log_seen(logs: LogEvents | None, *ids: str) -> list[Seen]:
    seen: list[Seen] = []
    if logs is None:
        return seen
    for pid in ids:
        ev = logs.get(pid)
        if ev.count and ev.last is not None:
            seen.append(Seen(ev.last.source, "\n".join(ev.excerpt())))
    return seen


def _restart() -> list[str]:
    return ["systemctl restart openvswitch-switch   # RHEL: systemctl restart openvswitch"]


@rule(
    "ovs.vswitchd_unresponsive",
    needs=(OvsState,),
    optional=(LogEvents,),
    seed="000",
    severity=Severity.CRITICAL,
    scope="host",
)
def vswitchd_unresponsive(ovs: OvsState, logs: LogEvents | None) -> Iterator[Finding]:
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
        "ovs.vswitchd_unresponsive",
        Severity.CRITICAL,
        subject="ovs-vswitchd",
        params={
            "calls": ", ".join(ev.source for ev in hung) or "none",
            "timeout": f"{max((ev.duration_s for ev in hung), default=0):.1f}",
            "state": "stopped (SIGSTOP/traced)"
            if stopped
            else ("not running" if absent else "not answering"),
            "pid": stopped[0].pid if stopped else (ovs.vswitchd[0].pid if ovs.vswitchd else "?"),
        },
        seen=seen,
        now=[
            *(f"kill -CONT {p.pid}   # it is stopped" for p in stopped),
            *(
                f"cat /proc/{p.pid}/stack; timeout 5 strace -p {p.pid}   # where it is stuck"
                for p in ovs.vswitchd[:1]
            ),
            *_restart(),
        ],
        persist=[
            WATCHDOG_CRON,
            "upgrade the kernel / Open vSwitch (seed 000: fixed by kernel 2.6.32-504.16.2)",
        ],
        seed="000",
    )


@rule("ovs.ovsdb_unreachable", needs=(OvsState,), seed="000", severity=Severity.CRITICAL, scope="host")
def ovsdb_unreachable(ovs: OvsState) -> Iterator[Finding]:
    """ovsdb-server does not answer: no port can be added or changed, agents fail."""
    if ovs.db_answers:
        return
    yield Finding(
        "ovs.ovsdb_unreachable",
        Severity.CRITICAL,
        subject="ovsdb-server",
        params={
            "error": ovs.vsctl.error or ovs.vsctl.status.value,
            "state": "running" if ovs.ovsdb else "not running",
        },
        seen=[
            Seen(ovs.vsctl.source, f"{ovs.vsctl.status.value}: {ovs.vsctl.error}"),
            *(Seen("ps", f"pid {p.pid} STAT {p.stat}: {p.command[:120]}") for p in ovs.ovsdb + ovs.vswitchd),
        ],
        now=[
            "ls -l /var/run/openvswitch/db.sock; tail -n 50 /var/log/openvswitch/ovsdb-server.log",
            *_restart(),
        ],
        persist=["systemctl enable openvswitch-switch"],
        seed="000",
    )


@rule(
    "ovs.poll_interval_long", needs=(OvsState, LogEvents), seed="000", severity=Severity.WARNING, scope="host"
)
def poll_interval_long(ovs: OvsState, logs: LogEvents) -> Iterator[Finding]:
    """ovs-vswitchd logged long poll intervals recently but answers now: it is struggling."""
    ev = logs.get("ovs_poll_interval_long")
    if not ev.count or ovs.hung_calls or not ev.recent(RECENT_S):
        return
    worst = max((int(e.match.get("ms", 0)) for e in ev.samples), default=0)
    yield Finding(
        "ovs.poll_interval_long",
        Severity.WARNING,
        subject="ovs-vswitchd",
        params={"count": ev.count, "worst_ms": worst},
        seen=_log_seen(logs, "ovs_poll_interval_long", "ovs_broken_pipe"),
        now=["ovs-appctl coverage/show; ovs-appctl upcall/show; top -H -p $(pidof ovs-vswitchd)"],
        persist=[WATCHDOG_CRON],
        seed="000",
    )
