"""Read a sosreport (directory) as a Bundle: every catalogue entry resolved through
sos_reports/manifest.json when present, else through the paths sos is known to use."""

from __future__ import annotations

import glob
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netsleuth.evidence.catalogue import Spec, catalogue
from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.messages import Msg

INLINE_MAX = 1024 * 1024  # larger files are streamed from disk (Evidence.path)
ERROR_WORDS = (
    "failed",
    "no such file",
    "not found",
    "cannot",
    "error",
    "unable",
    "command not found",
    "permission denied",
)
TIMEOUT_RC = 124  # sos runs commands under `timeout`


def find_sos_root(path: Path) -> Path | None:
    """The folder holding sos_commands/: `path` itself or its single sosreport-* child."""
    if (path / "sos_commands").is_dir():
        return path
    children = (
        [c for c in path.iterdir() if c.is_dir() and (c / "sos_commands").is_dir()] if path.is_dir() else []
    )
    return children[0] if len(children) == 1 else None


def mangle(cmd: str) -> str:
    """The file name sos gives a command's output: spaces -> '_', '/' -> '.'."""
    return cmd.replace("/", ".").replace(" ", "_")[:255]


@dataclass(frozen=True)
class SosCommand:
    exec: str
    filepath: str
    rc: int | None


class SosReport:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.commands: dict[str, SosCommand] = {}
        self.has_manifest = False
        self.start_time = ""
        manifest = self.root / "sos_reports" / "manifest.json"
        if manifest.is_file():
            try:
                self._load_manifest(json.loads(manifest.read_text(errors="replace")))
                self.has_manifest = True
            except (json.JSONDecodeError, AttributeError, KeyError, TypeError):
                self.has_manifest = False

    def _load_manifest(self, m: dict[str, Any]) -> None:
        self.start_time = str(m.get("start_time", ""))
        plugins = m["components"]["report"]["plugins"]
        for plug in plugins.values():
            for c in plug.get("commands", []):
                ex = " ".join(str(c.get("exec", "")).split())
                fp = c.get("filepath")
                if ex and fp:
                    self.commands[ex] = SosCommand(ex, fp, c.get("return_code"))

    def path(self, rel: str) -> Path | None:
        """A file inside the report; links that lead outside it are refused."""
        p = self.root / rel
        try:
            real = p.resolve()
        except (OSError, ValueError):  # ValueError: a NUL byte in the name
            return None
        if not real.is_relative_to(self.root) or not real.is_file():
            return None
        return real

    def command(self, cmd: str, plugin: str) -> tuple[Path, int | None] | None:
        c = self.commands.get(cmd)
        if c is not None:
            p = self.path(c.filepath)
            if p is not None:
                return p, c.rc
        if plugin:
            p = self.path(f"sos_commands/{plugin}/{mangle(cmd)}")
            if p is not None:
                return p, None
        return None

    def commands_like(self, template: str, plugin: str) -> list[tuple[str, Path, int | None]]:
        """Every command matching a template with one {placeholder}: (object, file, rc)."""
        pre, _, post = re.split(r"(\{\w+\})", template, maxsplit=1)
        rx = re.compile(re.escape(pre) + r"(\S+)" + re.escape(post) + "$")
        out: dict[str, tuple[str, Path, int | None]] = {}
        for ex, c in self.commands.items():
            m = rx.match(ex)
            if m:
                p = self.path(c.filepath)
                if p is not None:
                    out[m.group(1)] = (m.group(1), p, c.rc)
        if not out and plugin:
            prefix = self.root / "sos_commands" / plugin / mangle(pre)
            suffix = mangle(post)
            for f in sorted(glob.glob(glob.escape(str(prefix)) + "*" + glob.escape(suffix))):
                name = Path(f).name[len(prefix.name) :]
                name = name[: len(name) - len(suffix)] if suffix else name
                p = self.path(str(Path(f).relative_to(self.root)))
                if p is not None and name:
                    out.setdefault(name, (name, p, None))
        return list(out.values())


def _status(text: str, rc: int | None, tool: str) -> tuple[Status, str]:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if rc == TIMEOUT_RC:
        return Status.TIMEOUT, "timed out when sos ran it"
    if rc == 127:
        return Status.MISSING, f"{tool}: not installed on the host"
    low = first.lower()
    looks_failed = first.startswith(f"{tool}:") and any(w in low for w in ERROR_WORDS)
    if (rc not in (None, 0) and (looks_failed or not text.strip())) or (rc is None and looks_failed):
        return (Status.DENIED if "permission denied" in low else Status.ERROR), first or f"exit status {rc}"
    return Status.OK, ""


def _evidence(spec: Spec, path: Path, rel: str, rc: int | None, netns: str, key: str = "") -> Evidence:
    size = path.stat().st_size
    tool = spec.live.split()[0] if spec.live else ""
    if size > INLINE_MAX:
        with path.open(errors="replace") as fh:
            head = fh.read(4096)
        status, error = _status(head, rc, tool)
        return Evidence(spec.name, status, source=rel, netns=netns, key=key, rc=rc, error=error, path=path)
    text = path.read_text(errors="replace")
    status, error = _status(text, rc, tool)
    return Evidence(spec.name, status, text=text, source=rel, netns=netns, key=key, rc=rc, error=error)


def _rel(sos: SosReport, p: Path) -> str:
    return str(p.relative_to(sos.root))


def _resolve(sos: SosReport, spec: Spec, netns: str) -> list[Evidence]:
    prefix = f"ip netns exec {netns} " if netns else ""
    plugin = spec.sos_plugin or ""
    if spec.per:
        found: list[Evidence] = []
        for tmpl in spec.sos:
            for obj, p, rc in sos.commands_like(prefix + tmpl, plugin if not netns else "networking"):
                ev = _evidence(spec, p, _rel(sos, p), rc, netns, key=obj)
                ev.key = spec.key_from_content(ev.text) or obj
                found.append(ev)
            if found:
                return found
        return []
    for cmd in spec.sos:
        hit = sos.command(prefix + cmd, plugin if not netns else "networking")
        if hit is not None:
            p, rc = hit
            return [_evidence(spec, p, _rel(sos, p), rc, netns)]
    if netns:
        return []  # sos keeps files (/proc, /etc) of the host namespace only
    for pattern in spec.sos_file:
        if "*" in pattern:
            hits = sorted(glob.glob(str(sos.root / pattern)))
            evs = []
            for h in hits:
                hp = sos.path(str(Path(h).relative_to(sos.root)))
                if hp is not None:
                    evs.append(_evidence(spec, hp, _rel(sos, hp), None, netns, key=hp.name))
            if evs:
                return evs
            continue
        fp = sos.path(pattern)
        if fp is not None:
            key = fp.name if spec.collector == "tail" else ""
            found = [_evidence(spec, fp, pattern, None, netns, key=key)]
            if spec.collector == "tail":  # every log file that exists
                for other in spec.sos_file:
                    q = sos.path(other)
                    if q is not None and other != pattern:
                        found.append(_evidence(spec, q, other, None, netns, key=q.name))
            return found
    return []


def _missing(spec: Spec, netns: str) -> Evidence:
    looked = [*(f"`{c}`" for c in spec.sos), *spec.sos_file]
    why = "not in this sosreport" + (f" (looked for {', '.join(looked[:3])})" if looked else "")
    if netns and not spec.sos:
        why = "sos does not collect this inside namespaces"
    return Evidence(spec.name, Status.MISSING, source="sosreport", netns=netns, error=why)


def read_sosreport(
    root: Path, label: str, scopes: list[str] | None = None, all_netns: bool = False
) -> Bundle:
    sos = SosReport(root)
    bundle = Bundle(source=f"sosreport:{label}")
    ns_ev = sos.command("ip netns", "networking")
    names: list[str] = []
    if ns_ev is not None:
        names = [ln.split()[0] for ln in ns_ev[0].read_text(errors="replace").splitlines() if ln.strip()]
        odd = [n for n in names if "\0" in n or "/" in n or n in (".", "..")]
        if odd:  # no namespace is called that: the file is damaged
            names = [n for n in names if n not in odd]
            bundle.notes.append(Msg("sos_odd_netns", {"n": len(odd)}))
    if scopes:
        unknown = [s for s in scopes if s and s not in names]
        if unknown:
            bundle.notes.append(Msg("sos_netns_missing", {"names": ", ".join(unknown), "n": len(unknown)}))
        bundle.namespaces = list(scopes)
    else:
        bundle.namespaces = [HOST, *names] if all_netns else [HOST]
    if not sos.has_manifest:
        bundle.notes.append(Msg("sos_no_manifest"))
    for spec in catalogue().values():
        targets = [HOST] if spec.scope == "host" else bundle.namespaces
        for ns in targets:
            found = _resolve(sos, spec, ns)
            if not found and spec.per:
                continue  # nothing per-NIC / per-bridge: no piece to report missing
            for ev in found or [_missing(spec, ns)]:
                bundle.add(ev)
    host = bundle.get("hostname")
    bundle.hostname = (
        host.content().strip().splitlines()[0] if host and host.ok and host.content().strip() else root.name
    )
    uname = bundle.get("uname")
    parts = uname.content().split() if uname and uname.ok else []
    bundle.kernel = parts[2] if len(parts) > 2 else ""
    if sos.start_time:
        bundle.collected_at = sos.start_time.replace(" ", "T").split(".")[0] + "+00:00"
    else:  # no manifest: the report's own `date` output says when it was taken
        bundle.collected_at = _sos_date(sos)
    return bundle


def _sos_date(sos: SosReport) -> str:
    """When the report was taken, from `sos_commands/date/date[_--utc]` (`Thu Feb 10 16:19:17 UTC
    2022`); "" when unknown."""
    from datetime import datetime

    for rel in ("sos_commands/date/date_--utc", "sos_commands/date/date"):
        p = sos.path(rel)
        if p is None or p.stat().st_size > 4096:
            continue
        text = " ".join(p.read_text(errors="replace").split())
        try:
            when = datetime.strptime(text, "%a %b %d %H:%M:%S UTC %Y")
        except ValueError:
            continue
        return when.isoformat() + "+00:00"
    return ""
