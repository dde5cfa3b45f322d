"""Host (seed 003): the deploying user's umask 0027 made every copied file unreadable for the
services (an empty daemon.json, docker would not start); a PATH without /sbin or /usr/sbin left
scripts unable to find modprobe, ip and ping; one container's logs filled a terabyte in two days."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.host import HostInfo
from netsleuth.facts.host_state import Disks, Environment
from netsleuth.messages import Msg
from netsleuth.parsers.df import DiskUsage
from netsleuth.rules.base import Cmd, Finding, RemedyLine, Seen, Severity, Skip, rule

FULL_PCT = 90.0
HOURS_LEFT = 1.0  # "filling fast": full within the hour at the rate of a one-second sample
MIN_GROWTH_KB_S = 1024.0  # ... and at least 1 MB/s, so a one-second sample is not noise
STEADY_S = 10.0  # samples at least this far apart (watch's cycles) show a rate, not a burst
BURST_HOURS_LEFT = 10 / 60  # a shorter sample may be a burst: only a fill within minutes counts


def _restrictive(umask: str) -> bool:
    """Files created under it are not readable by group or others (0027, 0077, 0037 ...)."""
    return bool(int(umask, 8) & 0o044)


@rule(
    "host.umask_restrictive",
    needs=(Environment,),
    optional=(HostInfo,),
    seed="003",
    severity=Severity.WARNING,
    scope="host",
)
def umask_restrictive(env: Environment, host: HostInfo | None) -> Iterator[Finding]:
    """The deploying user's umask (0027/0077) makes copied files unreadable for the services."""
    if env.umask is None and env.login_umask is None:
        raise Skip(Msg("umask_not_recorded"))
    for umask, where, line, src in (
        (env.umask, Msg("where_user"), env.umask_line, env.source),
        (env.login_umask, Msg("where_login"), env.login_line, env.login_source),
    ):
        if umask is None or not _restrictive(umask):
            continue
        rc = "/etc/profile.d/umask.sh" if host is None or host.os_family != "debian" else "~/.profile"
        yield Finding(
            Severity.WARNING,
            subject=f"umask {umask}",
            params={"umask": umask, "where": where, "file_mode": f"{0o666 & ~int(umask, 8):04o}"},
            seen=[Seen(src, line)],
            now=[
                Cmd("umask 0022", Msg("c_in_deploy_shell")),
                Cmd("find /etc/docker -type f ! -perm -o=r -ls", Msg("c_unreadable")),
                Cmd("chmod o+r /etc/docker/daemon.json", Msg("c_each_file")),
            ],
            persist=[
                Cmd(f"echo 'umask 0022' >> {rc}", Msg("c_deploying_user")),
                Cmd("sed -i 's/^UMASK.*/UMASK 022/' /etc/login.defs", Msg("c_site_policy")),
            ],
        )


@rule("host.path_incomplete", needs=(Environment,), seed="003", severity=Severity.WARNING, scope="host")
def path_incomplete(env: Environment) -> Iterator[Finding]:
    """PATH lacks /sbin or /usr/sbin, so scripts cannot find modprobe, ip, ping."""
    if env.path is None:
        raise Skip(Msg("path_not_recorded"))
    dirs = {p.rstrip("/") for p in env.path}
    missing = [d for d in ("/usr/sbin", "/sbin") if d not in dirs]
    # on merged-/usr systems /sbin is /usr/sbin: only a PATH without both, or without /usr/sbin, bites
    if "/usr/sbin" in dirs or not missing:
        return
    want = ":".join([*env.path, *missing])
    yield Finding(
        Severity.WARNING,
        subject="PATH",
        params={"missing": " ".join(missing), "path": ":".join(env.path)},
        seen=[Seen(env.source, env.path_line)],
        now=[f"export PATH={want}", "command -v modprobe ip ping ethtool"],
        persist=[
            Msg("do_set_path"),
            Msg("do_sudo_path"),
        ],
    )


def _size(kb: float) -> str:
    for unit, div in (("TB", 1024**3), ("GB", 1024**2), ("MB", 1024)):
        if kb >= div:
            return f"{kb / div:.1f} {unit}"
    return f"{kb:.0f} KB"


@rule("host.disk_filling", needs=(Disks,), seed="003", severity=Severity.WARNING, scope="host")
def disk_filling(disks: Disks) -> Iterator[Finding]:
    """A log/data file system is nearly full (>= 90 %) or filling fast between two samples."""
    for d in disks.usage:
        if not d.is_disk:
            continue
        growth = disks.growth_kb_s(d.mount)
        hours = d.avail_kb / growth / 3600 if growth and growth > 0 else None
        # one second of a package install or a tarball written is a burst, not a flood: from a
        # short sample believe only a fill within minutes; from a steady one, within the hour
        left = HOURS_LEFT if (disks.interval_s or 0.0) >= STEADY_S else BURST_HOURS_LEFT
        fast = growth is not None and growth >= MIN_GROWTH_KB_S and hours is not None and hours <= left
        if d.use_pct < FULL_PCT and not fast:
            continue
        yield _disk_finding(d, disks, growth, hours)


def _disk_finding(d: DiskUsage, disks: Disks, growth: float | None, hours: float | None) -> Finding:
    seen = [Seen(disks.source, d.line)]
    under = [(s, p) for s, p in disks.largest if p.startswith(d.mount.rstrip("/") + "/") or d.mount == "/"]
    if under:
        seen.append(Seen(disks.largest_source, "\n".join(f"{_size(s / 1024)}  {p}" for s, p in under[:5])))
    now: list[RemedyLine] = [
        f"du -xh --max-depth=2 {d.mount} 2>/dev/null | sort -rh | head -20",
        "journalctl --vacuum-size=500M",
    ]
    if under:
        now.append(Cmd(f": > {under[0][1]}", Msg("c_truncate")))
    now.append(Cmd("lsof +L1 | head", Msg("c_deleted_open")))
    return Finding(
        Severity.WARNING,
        subject=d.mount,
        params={
            "mount": d.mount,
            "pct": f"{d.use_pct:.0f}",
            "avail": _size(d.avail_kb),
            "size": _size(d.size_kb),
            "rate": Msg("rate_per_s", {"size": _size(growth)})
            if growth and growth > 0
            else Msg("rate_unmeasured"),
            "hours_left": f"{hours:.1f}" if hours is not None else "?",
            "largest": under[0][1] if under else "",
        },
        seen=seen,
        now=now,
        persist=[
            Msg("do_rotate_size"),
            Msg("do_docker_log_opts"),
            Msg("do_fix_flood"),
        ],
    )
