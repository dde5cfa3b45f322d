"""What a scenario is, where to diagnose it from, and how to run `netsleuth diagnose` there.

Two vantage points:
- `inside = "role"`: diagnose *from inside* that namespace (`ip netns exec NS netsleuth diagnose`):
  the namespace is "the host" (its links, sockets, /etc/netns/NS/resolv.conf, conntrack count).
  Probes may run there (they only reach lab addresses).
- `netns = ("role", ...)`: diagnose from the default namespace with `--no-probes --netns NS ...`,
  the way an engineer looks into qrouter-/qdhcp- namespaces; host-wide evidence (kernel log,
  processes, OVS via `ovs_env`) comes from the machine.

`command` replaces `diagnose` when diagnose cannot know the target and the documented way is a
probe the engineer names (`probe arp IP --vlan N --iface TRUNK`): the suite judges its report,
which has the same JSON schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from netsleuth.lab import Lab

DIAGNOSE_ONLY = frozenset({"-q", "--quiet"})


@dataclass
class Vantage:
    """Where `netsleuth diagnose` runs for one lab (stored in the lab's journal for `lab up`)."""

    inside: str | None = None  # namespace name to run inside
    netns: list[str] = field(default_factory=list)  # namespaces to look into (--netns)
    env: dict[str, str] = field(default_factory=dict)  # e.g. the lab's OVS_RUNDIR ...
    probes: bool = False
    peers: list[str] = field(default_factory=list)
    umask: int | None = None
    wrap: list[str] = field(default_factory=list)  # a prefix command (e.g. a private mount namespace)
    command: list[str] = field(default_factory=list)  # instead of diagnose, e.g. ["probe", "arp", ...]

    def argv(self, *extra: str, prog: Sequence[str] = ()) -> list[str]:
        """The full command line, e.g. for `lab up` to print or for the tests to run."""
        base = [*(prog or (sys.executable, "-m", "netsleuth.cli"))]
        if self.command:  # a probe: diagnose's own options (-q, --netns, --peer) do not apply
            cmd = [*base, *self.command, *(e for e in extra if e not in DIAGNOSE_ONLY)]
            cmd = ["ip", "netns", "exec", self.inside, *cmd] if self.inside else cmd
            return [*self.wrap, *cmd]
        cmd = [*base, "diagnose"]
        if not self.probes or self.inside is None:
            cmd.append("--no-probes")  # never probe from the default namespace
        for n in self.netns:
            cmd += ["--netns", n]
        if self.probes and self.inside is not None:
            for p in self.peers:
                cmd += ["--peer", p]
        cmd += list(extra)
        if self.inside:
            cmd = ["ip", "netns", "exec", self.inside, *cmd]
        return [*self.wrap, *cmd]

    def shell(self, *extra: str) -> str:
        """The same command as one shell line (env and umask included), for people."""
        import shlex

        parts = [f"{k}={shlex.quote(v)}" for k, v in self.env.items()]
        line = " ".join([*parts, *(shlex.quote(a) for a in self.argv(*extra, prog=("netsleuth",)))])
        return f"(umask {self.umask:04o}; {line})" if self.umask is not None else line

    def run(self, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.env, "NO_COLOR": "1"}
        umask = self.umask

        def pre() -> None:
            if umask is not None:
                os.umask(umask)

        return subprocess.run(
            self.argv(*extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            preexec_fn=pre if umask is not None else None,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "inside": self.inside,
            "netns": self.netns,
            "env": self.env,
            "probes": self.probes,
            "peers": self.peers,
            "umask": self.umask,
            "wrap": self.wrap,
            "command": self.command,
        }


class Scenario:
    """One real fault (or a healthy baseline). Subclasses give the class attributes and `build`.

    - `expect`: the fault id that must be found (None: a healthy baseline, nothing at warning+).
    - `expect_subject`: the object the finding must name; any of the strings, as a substring of
      the finding's subject (the contract for some ids' subjects is still being written).
    - `build(lab)`: make the network and inject the fault; return the Vantage to diagnose from.
    - `tools`: programs it needs (missing: skipped with the reason).
    - `sos`: worth capturing with a real `sos report` (the fault is visible there).
    - `sos_inside`: worth capturing with `sos report` run inside the vantage's namespace, a host of
      its own: its firewall tables, its socket tables and its conntrack count are the report's.
    - `host_wide`: the evidence is machine-wide (the kernel log): offline, the diagnosis must
      include the host scope (`--all-netns`), not only the namespace it was seen from.
    """

    name: ClassVar[str] = ""
    expect: ClassVar[str | None] = None
    expect_subject: ClassVar[tuple[str, ...]] = ()
    tools: ClassVar[tuple[str, ...]] = ("ip",)
    sos: ClassVar[bool] = False
    sos_inside: ClassVar[bool] = False
    host_wide: ClassVar[bool] = False

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0]

    def build(self, lab: Lab) -> Vantage:
        raise NotImplementedError

    def missing_tools(self) -> list[str]:
        import shutil

        return [t for t in self.tools if shutil.which(t) is None]


SCENARIOS: dict[str, type[Scenario]] = {}


def scenario(cls: type[Scenario]) -> type[Scenario]:
    """Register a scenario class under its `name`."""
    if not cls.name or cls.name in SCENARIOS:
        raise ValueError(f"scenario name {cls.name!r} is empty or taken")
    SCENARIOS[cls.name] = cls
    return cls


def all_scenarios() -> dict[str, type[Scenario]]:
    import importlib
    import pkgutil

    from netsleuth.lab import scenarios

    for mod in pkgutil.iter_modules(scenarios.__path__):
        importlib.import_module(f"netsleuth.lab.scenarios.{mod.name}")
    return dict(SCENARIOS)


def up(sc: Scenario, *, keep: bool = False) -> tuple[Lab, Vantage]:
    """Build a scenario in a new Lab (entered; caller must `down` it or use `with lab:`)."""
    lab = Lab(sc.name, keep=keep)
    lab.__enter__()
    try:
        vantage = sc.build(lab)
        settle(lab)
        lab.note(vantage=vantage.to_dict(), expect=sc.expect, expect_subject=list(sc.expect_subject))
    except BaseException:
        lab.__exit__(*sys.exc_info())
        raise
    return lab, vantage


def settle(lab: Lab, timeout: float = 3.0) -> None:
    """Wait until the kernel has caught up with the links just made: a link that has its carrier
    (LOWER_UP) keeps operstate DOWN (`NO-CARRIER`) until the kernel's link watcher runs, up to a
    second or more later on a busy machine. Diagnosing in that window would see a fault the
    scenario did not make. Links without a carrier (a peer left down on purpose) are not waited on."""
    import json
    import time

    from netsleuth.lab.shell import sh

    deadline = time.monotonic() + timeout
    pending = list(lab.namespaces())
    while pending and time.monotonic() < deadline:
        still = []
        for ns in pending:
            out = sh(["ip", "-n", ns, "-j", "link", "show"], check=False).stdout
            try:
                links = json.loads(out or "[]")
            except ValueError:
                links = []
            if any("LOWER_UP" in ln.get("flags", []) and ln.get("operstate") == "DOWN" for ln in links):
                still.append(ns)
        pending = still
        if pending:
            time.sleep(0.1)


def names(items: Sequence[Any]) -> list[str]:
    return [getattr(i, "name", str(i)) for i in items]
