"""One piece of evidence as the collector records it, and the catalogue entry that says how to get it.

The analysis side has its own richer types (netsleuth.evidence.model); these are the plain records a
bundle holds (see bundle.py), and what live collection hands over to it."""

import os
import shlex
from typing import Any, Dict, List, Optional, Sequence

HOST = ""  # the network namespace the collector runs in
MAX_TEXT = 16 * 1024 * 1024  # characters of one piece of evidence kept (the rest is read and dropped)
OK, TIMEOUT, MISSING, DENIED, ERROR = "ok", "timeout", "missing", "denied", "error"
STATUSES = (OK, TIMEOUT, MISSING, DENIED, ERROR)


class Record:
    """The raw output of a command or a file, and how it was obtained."""

    __slots__ = (
        "duration_s",
        "error",
        "interval_s",
        "key",
        "later",
        "name",
        "netns",
        "rc",
        "source",
        "status",
        "text",
    )

    def __init__(
        self,
        name: str,
        status: str,
        text: str = "",
        source: str = "",
        duration_s: float = 0.0,
        netns: str = HOST,
        key: str = "",
        rc: Optional[int] = None,
        error: str = "",
        later: Optional[str] = None,
        interval_s: Optional[float] = None,
    ) -> None:
        self.name = name
        self.status = status
        self.text = text
        self.source = source  # the command line or file it came from
        self.duration_s = duration_s
        self.netns = netns
        self.key = key  # the interface or bridge of per-object evidence
        self.rc = rc
        self.error = error  # stderr, or the reason it is missing/denied/timed out
        self.later = later  # second sample of a counter, `interval_s` after the first
        self.interval_s = interval_s

    @property
    def ok(self) -> bool:
        return self.status == OK

    def __repr__(self) -> str:
        return "Record({!r}, {!r}, netns={!r}, key={!r})".format(self.name, self.status, self.netns, self.key)


class Spec:
    """One catalogue entry, as far as collecting it goes (evidence/catalogue.d/*.toml)."""

    FIELDS = (
        "name",
        "scope",
        "live",
        "fallback",
        "file",
        "collector",
        "per",
        "sampled",
        "each",
        "kmods",
        "log_of",
    )

    def __init__(
        self,
        name: str,
        scope: str,
        live: str = "",
        fallback: str = "",
        file: str = "",
        collector: str = "",
        per: str = "",
        sampled: bool = False,
        each: bool = False,
        kmods: Sequence[str] = (),
        log_of: str = "",
    ) -> None:
        self.name = name
        self.scope = scope  # "host": once; "netns": in every namespace collected
        self.live = live  # the command line
        self.fallback = fallback  # another command when `live` is missing/denied/failing
        self.file = file  # file(s) read; a glob gives one piece per match
        self.collector = collector  # a function of collectors.py
        self.per = per  # "nic": per physical NIC / bond member; "ovs_bridge": per OVS bridge
        self.sampled = sampled  # counters: sampled twice
        self.each = each  # every file of `file` that exists, one piece each (keyed by its name)
        self.kmods = tuple(kmods)  # run only when these kernel modules are loaded ("a b" = a and b; any of)
        self.log_of = log_of  # a log: also the one the running program of this name was told to write

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Spec":
        return cls(**{k: d[k] for k in cls.FIELDS if k in d})

    def to_dict(self) -> Dict[str, Any]:
        d = {k: getattr(self, k) for k in self.FIELDS}
        d["kmods"] = list(self.kmods)
        return d

    @property
    def tool(self) -> str:
        """The program the live command runs."""
        return self.live.split()[0] if self.live else ""

    def argv(self, **subst: str) -> List[str]:
        """The live command line as argv, with {iface}/{bridge} filled in."""
        return [part.format(**subst) for part in shlex.split(self.live)]

    def files(self) -> List[str]:
        """Live file paths; {OVS_LOGDIR}/{OVS_RUNDIR} follow the environment like the OVS tools do."""
        env = {
            "OVS_LOGDIR": os.environ.get("OVS_LOGDIR", "/var/log/openvswitch"),
            "OVS_RUNDIR": os.environ.get("OVS_RUNDIR", "/var/run/openvswitch"),
        }
        return [f.format(**env) for f in self.file.split()]

    def batchable(self) -> bool:
        """Plain commands and single files: what the per-namespace batch can run."""
        return (
            not self.collector and not self.fallback and "*" not in self.file and bool(self.live or self.file)
        )
