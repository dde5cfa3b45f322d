"""Load the evidence catalogue (catalogue.d/*.toml, one file per area): one spec per logical piece of evidence."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from netsleuth.collector.model import Spec as CollectorSpec

Scope = Literal["host", "netns"]
Per = Literal["", "nic", "ovs_bridge"]


@dataclass(frozen=True)
class Spec:
    name: str
    scope: Scope
    live: str = ""
    fallback: str = ""
    file: str = ""
    collector: str = ""
    per: Per = ""
    sampled: bool = False
    sos: tuple[str, ...] = ()
    sos_plugin: str = ""
    sos_file: tuple[str, ...] = ()
    key_re: str = ""
    tools: tuple[str, ...] = ()
    each: bool = False
    kmods: tuple[str, ...] = ()
    log_of: str = ""  # a log: also the one the running program of this name was told to write
    service: bool = False  # its program is the service it reads: absent, the host runs none (nothing lost)

    def programs(self) -> tuple[str, ...]:
        """The programs this evidence is read with live: `tools` when given (a collector, a shell
        script), else the first word of the live command and of its fallback."""
        if self.tools:
            return self.tools
        return tuple(dict.fromkeys(shlex.split(cmd)[0] for cmd in (self.live, self.fallback) if cmd))

    @property
    def tool(self) -> str:
        """The program the live command runs."""
        return self.live.split()[0] if self.live else ""

    def argv(self, **subst: str) -> list[str]:
        """The live command line as argv, with {iface}/{bridge} filled in."""
        return [part.format(**subst) for part in shlex.split(self.live)]

    def files(self) -> list[str]:
        """Live file paths; {OVS_LOGDIR}/{OVS_RUNDIR} follow the environment like the OVS tools do."""
        env = {
            "OVS_LOGDIR": os.environ.get("OVS_LOGDIR", "/var/log/openvswitch"),
            "OVS_RUNDIR": os.environ.get("OVS_RUNDIR", "/var/run/openvswitch"),
        }
        return [f.format(**env) for f in self.file.split()]

    def key_from_content(self, text: str) -> str | None:
        """The object a sosreport file is about, read from its content (names are lossy)."""
        if not self.key_re:
            return None
        m = re.search(self.key_re, text, re.MULTILINE)
        return m.group(1) if m else None


@cache
def catalogue() -> dict[str, Spec]:
    """Every evidence spec, by name."""
    entries: list[dict[str, Any]] = []
    folder = resources.files("netsleuth.evidence").joinpath("catalogue.d")
    for f in sorted(folder.iterdir(), key=lambda e: e.name):
        if f.name.endswith(".toml"):
            entries += tomllib.loads(f.read_text())["evidence"]
    specs: dict[str, Spec] = {}
    for entry in entries:
        for k in ("sos", "sos_file", "tools", "kmods"):
            entry[k] = tuple(entry.get(k, ()))
        spec = Spec(**entry)
        if spec.name in specs:
            raise ValueError(f"duplicate evidence name {spec.name}")
        specs[spec.name] = spec
    return specs


def spec(name: str) -> Spec:
    return catalogue()[name]


def collector_specs() -> list[CollectorSpec]:
    """The catalogue as the collector reads it (netsleuth.collector: collecting only, no sos fields)."""
    return [
        CollectorSpec.from_dict({k: getattr(s, k) for k in CollectorSpec.FIELDS})
        for s in catalogue().values()
    ]
