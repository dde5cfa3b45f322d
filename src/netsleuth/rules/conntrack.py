"""Connection tracking (seed 001): a VM opened hundreds of thousands of connections, the host's
conntrack table filled with ESTABLISHED entries that live five days, and every VM on the host
started losing packets (`ping: sendmsg: Operation not permitted`, `nf_conntrack: table full`)."""

from __future__ import annotations

from collections.abc import Iterator

from netsleuth.facts.conntrack import Conntrack
from netsleuth.facts.host import HostInfo, Memory
from netsleuth.facts.logs import EventSet, LogEvents, age_words
from netsleuth.facts.network import NetnsIdentity
from netsleuth.facts.settings import Thresholds
from netsleuth.messages import Msg
from netsleuth.rules.base import Finding, Seen, Severity, Skip, rule
from netsleuth.rules.persist import sysctl_persist

RECENT_S = 3600.0  # a log line within the last hour is "now"
# seed 001's settings: ESTABLISHED entries an hour, closing states half a minute to a minute
TIMEOUTS = {
    "net.netfilter.nf_conntrack_tcp_timeout_established": 3600,
    "net.netfilter.nf_conntrack_tcp_timeout_time_wait": 30,
    "net.netfilter.nf_conntrack_tcp_timeout_fin_wait": 30,
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait": 60,
}


def suggested_max(ct: Conntrack, mem: Memory | None) -> int:
    """Twice the current max, at least twice the current count; bounded by memory
    (the classic RAM / 16384 / 2 on 64-bit hosts) when that is known and larger than today's."""
    want = max(ct.max * 2, ct.count * 2)
    if mem is not None:
        by_memory = mem.total_bytes // 16384 // 2
        if by_memory > ct.max:
            want = min(want, by_memory) if by_memory >= ct.count * 1.25 else want
    return int(want)


def remedies(ct: Conntrack, host: HostInfo | None, mem: Memory | None) -> tuple[list[str], list[str]]:
    new_max = suggested_max(ct, mem)
    settings: dict[str, str | int] = {"net.netfilter.nf_conntrack_max": new_max}
    for key, val in TIMEOUTS.items():
        cur = ct.sysctl.int(key)
        if cur is not None and cur > val:
            settings[key] = val
    now = [f"sysctl -w {k}={v}" for k, v in settings.items()]
    buckets = max(new_max // 4, 1024)
    if ct.buckets is not None and ct.buckets < buckets:
        if host is not None and host.kernel_version >= (4, 8):
            now.append(f"sysctl -w net.netfilter.nf_conntrack_buckets={buckets}")
            settings["net.netfilter.nf_conntrack_buckets"] = buckets
        else:
            # before 4.8 the buckets sysctl is read-only: the module parameter sets it
            now.append(f"echo {buckets} > /sys/module/nf_conntrack/parameters/hashsize")
    persist = sysctl_persist(settings, "90-conntrack.conf")
    if host is None or host.kernel_version < (4, 8):
        persist.append(f"echo 'options nf_conntrack hashsize={buckets}' > /etc/modprobe.d/nf_conntrack.conf")
    return now, persist


def _state_seen(ct: Conntrack) -> list[Seen]:
    seen = [
        Seen(
            ct.sysctl.evidence.source,
            "\n".join(
                ln
                for ln in (
                    ct.sysctl.line("net.netfilter.nf_conntrack_count"),
                    ct.sysctl.line("net.netfilter.nf_conntrack_max"),
                    ct.sysctl.line("net.netfilter.nf_conntrack_tcp_timeout_established"),
                )
                if ln
            ),
        )
    ]
    if ct.histogram is not None and ct.histogram.counts:
        top = sorted(ct.histogram.counts.items(), key=lambda kv: -kv[1])[:8]
        seen.append(Seen(ct.histogram_source, "\n".join(f"{k} {v}" for k, v in top)))
    return seen


@rule(
    "conntrack.table_full",
    needs=(NetnsIdentity, Thresholds),
    optional=(Conntrack, LogEvents, HostInfo, Memory),
    seed="001",
    severity=Severity.CRITICAL,
)
def table_full(
    ident: NetnsIdentity,
    limits: Thresholds,
    ct: Conntrack | None,
    logs: LogEvents | None,
    host: HostInfo | None,
    mem: Memory | None,
) -> Iterator[Finding]:
    """The conntrack table is (or was) full and the kernel drops new connections' packets."""
    if logs is not None and not logs.read("kernel"):
        logs = None  # only other logs were read: the kernel's silence is not known
    if ct is None and logs is None:
        raise Skip(Msg("needs_conntrack_count"))
    # the kernel log is machine-wide: keep the lines about this namespace (`in netns <inode>`)
    events = EventSet("conntrack_table_full")
    if logs is not None:
        events = logs.get("conntrack_table_full").select(
            lambda inode, part: ident.owns(inode or None, part.newest_age_s)
        )
    full_now = ct is not None and ct.max > 0 and ct.fill >= limits["conntrack_full"]
    recent = events.count > 0 and events.recent(RECENT_S)
    if not full_now and events.count == 0:
        return
    seen = _state_seen(ct) if ct is not None else []
    if events.count:
        seen.append(Seen(events.last.source if events.last else "kernel log", "\n".join(events.excerpt())))
    severity = Severity.CRITICAL if (full_now or recent) else Severity.INFO
    now, persist = remedies(ct, host, mem) if ct is not None else ([], [])
    hist = ct.histogram.dominant() if ct is not None and ct.histogram else None
    yield Finding(
        severity,
        subject="nf_conntrack",
        params={
            "count": ct.count if ct else "?",
            "max": ct.max if ct else "?",
            "pct": f"{ct.fill * 100:.0f}" if ct else "?",
            "log_count": events.count,
            "log_age": age_words(events.newest_age_s),
            "dominant": hist[0] if hist else "?",
            "dominant_count": hist[1] if hist else "?",
            "state": Msg("state_full" if full_now else ("state_recent" if recent else "state_past")),
        },
        seen=seen,
        now=now,
        persist=persist,
        seed="001",
    )


@rule(
    "conntrack.near_limit",
    needs=(Conntrack, Thresholds),
    optional=(HostInfo, Memory),
    seed="001",
    severity=Severity.WARNING,
)
def near_limit(
    ct: Conntrack, limits: Thresholds, host: HostInfo | None, mem: Memory | None
) -> Iterator[Finding]:
    """The conntrack table is three quarters full: the next burst of connections fills it."""
    if ct.max <= 0 or not (limits["conntrack_near"] <= ct.fill < limits["conntrack_full"]):
        return
    now, persist = remedies(ct, host, mem)
    hist = ct.histogram.dominant() if ct.histogram else None
    yield Finding(
        Severity.WARNING,
        subject="nf_conntrack",
        params={
            "count": ct.count,
            "max": ct.max,
            "pct": f"{ct.fill * 100:.0f}",
            "dominant": hist[0] if hist else "?",
            "dominant_count": hist[1] if hist else "?",
        },
        seen=_state_seen(ct),
        now=now,
        persist=persist,
        seed="001",
    )


LONG_ESTABLISHED_S = 86400  # the kernel default is 432000 (5 days)
DOMINANT = 0.5
BUSY_FILL = 0.2  # a table this full, or ...
BUSY_ESTABLISHED = 100_000  # ... this many ESTABLISHED entries, is worth tuning


@rule(
    "conntrack.timeouts_long",
    needs=(Conntrack,),
    optional=(HostInfo, Memory),
    seed="001",
    severity=Severity.INFO,
)
def timeouts_long(ct: Conntrack, host: HostInfo | None, mem: Memory | None) -> Iterator[Finding]:
    """ESTABLISHED entries dominate a busy conntrack table and live the default five days."""
    timeout = ct.sysctl.int("net.netfilter.nf_conntrack_tcp_timeout_established")
    if timeout is None:
        raise Skip(Msg("not_in_sysctl", {"key": "net.netfilter.nf_conntrack_tcp_timeout_established"}))
    if ct.histogram is None or not ct.histogram.counts:
        raise Skip(Msg("needs_conntrack_states"))
    total = sum(ct.histogram.counts.values())
    est = ct.histogram.counts.get("ESTABLISHED", 0)
    if timeout < LONG_ESTABLISHED_S or total == 0 or est / total < DOMINANT:
        return
    if ct.fill < BUSY_FILL and est < BUSY_ESTABLISHED:
        return
    now, persist = remedies(ct, host, mem)
    modern = host is not None and host.kernel_version >= (4, 8)
    yield Finding(
        Severity.INFO,
        subject="nf_conntrack_tcp_timeout_established",
        params={
            "timeout": timeout,
            "days": f"{timeout / 86400:g}",
            "established": est,
            "total": total,
            "pct": f"{est * 100 / total:.0f}",
            "count": ct.count,
            "max": ct.max,
            "buckets_how": Msg("buckets_sysctl" if modern else "buckets_hashsize"),
        },
        seen=_state_seen(ct),
        now=now,
        persist=persist,
        seed="001",
    )
