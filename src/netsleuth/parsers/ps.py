"""Process list: `ps auxww` (live), `ps auxwww` (sos 3) and `ps auxwwwm` (sos >= 4)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from netsleuth.errors import ParseError


@dataclass(frozen=True)
class Process:
    pid: int
    user: str
    stat: str
    command: str  # the full command line

    @property
    def program(self) -> str:
        first = self.command.split()[0] if self.command else ""
        return first.rsplit("/", 1)[-1].strip("[]:")

    @property
    def stopped(self) -> bool:
        """Stopped by a signal (SIGSTOP) or traced: `T`/`t` in STAT."""
        return self.stat[:1] in ("T", "t")


def parse_ps(text: str) -> list[Process]:
    """Parse `ps aux` output.

    >>> ps = parse_ps(SAMPLE_PS)
    >>> [(p.pid, p.program, p.stopped) for p in ps]
    [(1, 'init', False), (2438, 'dnsmasq', False), (812, 'ovs-vswitchd', True)]

    With `m` (sos >= 4) a process line has STAT `-` and its threads follow, PID `-`: the
    process's state is its main thread's (the first).

    >>> [(p.pid, p.stat, p.stopped) for p in parse_ps(SAMPLE_PS_THREADS)]
    [(1, 'Ss', False), (2056, 'Tl', True)]
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    header = lines[0].split()
    if "PID" not in header or "COMMAND" not in header:
        raise ParseError("ps: no header with PID and COMMAND", lines[0])
    ipid, istat, icmd = header.index("PID"), header.index("STAT"), header.index("COMMAND")
    out: list[Process] = []
    for line in lines[1:]:
        parts = line.split(None, icmd)
        if len(parts) <= icmd:
            continue
        if parts[ipid] == "-":  # a thread of the process above
            if out and out[-1].stat == "-":
                out[-1] = replace(out[-1], stat=parts[istat])
            continue
        if not parts[ipid].isdigit():
            continue
        out.append(Process(pid=int(parts[ipid]), user=parts[0], stat=parts[istat], command=parts[icmd]))
    return out


SAMPLE_PS = """\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.0  0.0 167000 11000 ?        Ss   Feb26   0:03 /sbin/init
nobody      2438  0.0  0.0  27540  1096 ?        S    Feb26   0:00 /usr/sbin/dnsmasq --strict-order --bind-interfaces --conf-file= --domain=novalocal
root         812  0.2  0.1 300000 40000 ?        T<Lsl 05:01   0:09 ovs-vswitchd unix:/var/run/openvswitch/db.sock -vconsole:emer --pidfile --detach
"""
# sos 4's `ps auxwwwm` (Sunbeam hypervisor; the second process stopped for the example)
SAMPLE_PS_THREADS = """\
USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  4.1  0.1  37668 28576 ?        -    04:21  24:53 /sbin/init
root           -  4.1    -      -     - -        Ss   04:21  24:53 -
root        2056  1.5  0.4 3386420 139460 ?      -    04:21   9:07 ovs-vswitchd unix:/var/snap/openstack-hypervisor/common/run/openvswitch/db.sock -vconsole:emer
root           -  0.0    -      -     - -        Tl   04:21   0:40 -
root           -  0.0    -      -     - -        Tl   04:21   0:00 -
"""
