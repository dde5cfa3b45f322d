"""Read a sosreport (directory) as a Bundle: every catalogue entry looked up the way sos names it
(its manifest, then the file names sos gives commands, then the same commands run through a
snap's alias or inside a container), every file read checked to lie inside the report."""

from __future__ import annotations

import bisect
import fnmatch
import glob
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from netsleuth.errors import BadSource
from netsleuth.evidence.catalogue import Spec, catalogue
from netsleuth.evidence.collector_words import words_of
from netsleuth.evidence.model import HOST, Bundle, Evidence, Status
from netsleuth.evidence.sosnames import (
    MAX_READ,
    PLAIN,
    ManifestCommand,
    Wrapper,
    log_file_of,
    mangle,
    mangle_part,
    read_manifest,
    safe_relpath,
    unwrap_exec,
    unwrap_file,
)
from netsleuth.messages import Msg, Note
from netsleuth.parsers.date import parse_date
from netsleuth.parsers.ps import parse_ps

INLINE_MAX = 1024 * 1024  # larger files are streamed from disk (Evidence.path)
MANIFEST = "sos_reports/manifest.json"
MAX_DEPTH = 4  # sos_commands/<plugin>/<subdir>/<subdir>/<file>: sos nests no deeper
MAX_FILES = 2_000_000  # files indexed under sos_commands
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
# the tool itself is absent (where sos ran it: a namespace, a container) rather than failing
_NOT_INSTALLED = re.compile(
    r'exec of "?([^"\s]+)"? failed: No such file or directory|executable file not found|: command not found'
)
_NETNS_NAME = re.compile(r"^[^\s/\x00-\x1f\x7f]{1,255}$")


def find_sos_root(path: Path) -> Path | None:
    """The folder holding sos_commands/: `path` itself or its single sosreport-* child."""
    try:
        if (path / "sos_commands").is_dir():
            return path
        children = (
            [c for c in path.iterdir() if c.is_dir() and (c / "sos_commands").is_dir()]
            if path.is_dir()
            else []
        )
    except OSError as exc:
        raise BadSource(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return children[0] if len(children) == 1 else None


@dataclass(frozen=True)
class Hit:
    """Where a command's output lies in the report, and how sos ran it."""

    rel: str
    path: Path | None  # None: there, but not readable (`denied`)
    rc: int | None
    wrapper: Wrapper = PLAIN
    tool: str = ""  # the program sos ran (its error lines start with it)


@dataclass
class _Lookup:
    """What a search for one command learnt besides the file: the manifest's word on it."""

    said: list[str] = field(default_factory=list)


class SosReport:
    """The index of one report: its manifest's commands and every file under sos_commands/."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.notes: list[Note] = []
        self.has_manifest = False
        self.start_time = ""
        self.commands: dict[str, ManifestCommand] = {}
        self._execs: list[str] = []
        self._wrapped_execs: dict[str, list[tuple[Wrapper, ManifestCommand]]] = {}
        self._wrapped_exec_keys: list[str] = []
        self.files: dict[str, list[str]] = {}  # file name -> paths (relative to the root)
        self._names: list[str] = []
        self._wrapped_files: dict[str, list[tuple[Wrapper, str]]] = {}
        self._wrapped_names: list[str] = []
        self.denied_dirs: list[str] = []
        self.wrappers: set[str] = set()  # snaps and containers sos ran commands through
        self._load_manifest()
        self._index_files()

    # -- the index -------------------------------------------------------------------------------

    def _load_manifest(self) -> None:
        path, denied = self.open(MANIFEST)
        if denied:
            self.notes.append(Msg("sos_manifest_denied", {"manifest": MANIFEST, "why": denied}))
            return
        if path is None:
            if (self.root / MANIFEST).is_symlink():
                self.notes.append(Msg("sos_manifest_outside", {"manifest": MANIFEST}))
            return
        try:
            m = read_manifest(path)
        except OSError as exc:
            self.notes.append(
                Msg("sos_manifest_unreadable", {"manifest": MANIFEST, "why": str(exc.strerror or exc)})
            )
            return
        if m.skipped:
            self.notes.append(Msg("sos_manifest_skipped", {"manifest": MANIFEST, "n": m.skipped}))
        if m.cut:
            self.notes.append(Msg("sos_manifest_cut", {"manifest": MANIFEST, "mib": MAX_READ >> 20}))
        self.start_time = m.start_time
        self.has_manifest = bool(m.commands or m.start_time)
        self.commands = m.commands
        self._execs = sorted(m.commands)
        for ex, mc in m.commands.items():
            wrapper, inner = unwrap_exec(ex)
            if wrapper.kind:
                self._wrapped_execs.setdefault(" ".join(inner.split()), []).append((wrapper, mc))
        self._wrapped_exec_keys = sorted(self._wrapped_execs)

    def _index_files(self) -> None:
        """Every file under sos_commands/, by name; symlinked folders are not entered (no loops)."""
        top = self.root / "sos_commands"
        stack: list[tuple[Path, int]] = [(top, 0)]
        count = 0
        while stack:
            folder, depth = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except PermissionError:
                self.denied_dirs.append(str(folder.relative_to(self.root)))
                continue
            except OSError:
                continue
            for e in entries:
                try:
                    is_dir = e.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    if depth < MAX_DEPTH:
                        stack.append((Path(e.path), depth + 1))
                    continue
                count += 1
                if count > MAX_FILES:
                    self.notes.append(Msg("sos_too_many_files", {"n": MAX_FILES}))
                    stack.clear()
                    break
                rel = os.path.relpath(e.path, self.root)
                self.files.setdefault(e.name, []).append(rel)
                for wrapper, inner in unwrap_file(e.name):
                    self._wrapped_files.setdefault(inner, []).append((wrapper, rel))
        self._names = sorted(self.files)
        self._wrapped_names = sorted(self._wrapped_files)
        if self.denied_dirs:
            dirs = ", ".join(sorted(self.denied_dirs)[:5]) + (" …" if len(self.denied_dirs) > 5 else "")
            self.notes.append(Msg("sos_denied_dirs", {"dirs": dirs}))

    # -- reading ---------------------------------------------------------------------------------

    def open(self, rel: str) -> tuple[Path | None, str]:
        """A regular file inside the report: (its real path, "") when readable; (None, why) when
        it is there but cannot be read; (None, "") when absent, not a file, or a link that leads
        outside the report or round in a loop."""
        if not safe_relpath(rel):
            return None, ""
        try:
            real = (self.root / rel).resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop; a NUL byte in the name
            return None, ""
        if not real.is_relative_to(self.root):
            return None, ""
        try:
            st = real.stat()
        except PermissionError:
            return None, "permission denied"
        except OSError:
            return None, ""
        if not stat.S_ISREG(st.st_mode):
            return None, ""
        if not os.access(real, os.R_OK):
            return None, "permission denied"
        return real, ""

    def _hit(self, rel: str, rc: int | None, wrapper: Wrapper, tool: str) -> Hit | None:
        path, denied = self.open(rel)
        if path is None and not denied:
            return None
        if wrapper.kind:
            self.wrappers.add(wrapper.describe())
        return Hit(rel, path, rc, wrapper, tool)

    def _by_name(self, name: str, plugin: str) -> list[str]:
        rels = self.files.get(name, [])
        if len(rels) > 1 and plugin:
            return sorted(rels, key=lambda r: not r.startswith(f"sos_commands/{plugin}/"))
        return rels

    def command(self, cmd: str, plugin: str = "", seen: _Lookup | None = None) -> Hit | None:
        """The output of `cmd` as sos ran it: by the manifest, else by the name sos gives its
        file (in any plugin's folder: plugins move commands between them), else through a snap
        alias or a container exec."""
        key = " ".join(cmd.split())
        tool = _tool(key)
        mc = self.commands.get(key)
        if mc is not None:
            if mc.filepath:
                hit = self._hit(mc.filepath, mc.rc, PLAIN, tool)
                if hit is not None:
                    return hit
            elif seen is not None:
                seen.said.append(f"sos ran `{key}`: " + _rc_words(mc.rc))
        for rel in self._by_name(mangle(cmd), plugin):
            hit = self._hit(rel, None, PLAIN, tool)
            if hit is not None:
                return hit
        for wrapper, wmc in self._wrapped_execs.get(key, []):
            if wmc.filepath:
                hit = self._hit(wmc.filepath, wmc.rc, wrapper, tool)
                if hit is not None:
                    return hit
        for wrapper, rel in self._wrapped_files.get(mangle(cmd), []):
            hit = self._hit(rel, None, wrapper, tool)
            if hit is not None:
                return hit
        return None

    def commands_like(self, template: str, plugin: str = "") -> list[tuple[str, Hit]]:
        """Every command matching a template with one {placeholder}: (object, where it lies)."""
        pre, _, post = re.split(r"(\{\w+\})", template, maxsplit=1)
        tool = _tool(pre)
        pre_n = " ".join(pre.split()) + (" " if pre.endswith(" ") else "")
        post_n = (" " if post.startswith(" ") else "") + " ".join(post.split())
        out: dict[str, Hit] = {}

        def add(obj: str, hit: Hit | None) -> None:
            if hit is not None and obj and obj not in out:
                out[obj] = hit

        for ex in _prefixed(self._execs, pre_n):
            obj = ex[len(pre_n) : len(ex) - len(post_n) if post_n else None]
            if ex.endswith(post_n) and obj and " " not in obj:
                mc = self.commands[ex]
                add(obj, self._hit(mc.filepath, mc.rc, PLAIN, tool) if mc.filepath else None)
        mpre, mpost = mangle_part(pre), mangle_part(post)
        for name in _prefixed(self._names, mpre):
            obj = name[len(mpre) : len(name) - len(mpost) if mpost else None]
            if name.endswith(mpost) and obj:
                for rel in self._by_name(name, plugin):
                    add(obj, self._hit(rel, None, PLAIN, tool))
        for ex in _prefixed(self._wrapped_exec_keys, pre_n):
            obj = ex[len(pre_n) : len(ex) - len(post_n) if post_n else None]
            if ex.endswith(post_n) and obj and " " not in obj:
                for wrapper, mc in self._wrapped_execs[ex]:
                    add(obj, self._hit(mc.filepath, mc.rc, wrapper, tool) if mc.filepath else None)
        for name in _prefixed(self._wrapped_names, mpre):
            obj = name[len(mpre) : len(name) - len(mpost) if mpost else None]
            if name.endswith(mpost) and obj:
                for wrapper, rel in self._wrapped_files[name]:
                    add(obj, self._hit(rel, None, wrapper, tool))
        return list(out.items())

    def under_denied(self, rel: str) -> bool:
        return any(rel == d or rel.startswith(d + "/") for d in self.denied_dirs)

    def collected_at(self) -> str:
        """When the report was taken: the manifest's start (local time, offset from `date` vs
        `date --utc`), else `date --utc`, else `date`."""
        utc = self._date("date --utc", "date_--utc")
        local = self._date("date", "date")
        if self.start_time:
            try:
                start = datetime.fromisoformat(self.start_time.replace(" ", "T").split(".")[0])
            except ValueError:
                start = None
            if start is not None:
                offset = timedelta(0)
                if utc is not None and local is not None and local.tzinfo is None:
                    offset = timedelta(
                        minutes=15 * round((local - utc.replace(tzinfo=None)).total_seconds() / 900)
                    )
                return (start - offset).replace(tzinfo=UTC).isoformat()
        for when in (utc, local):
            if when is not None:
                return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat()
        return ""

    def hostnamectl_kernel(self) -> str:
        """The kernel release `hostnamectl status` names (`Kernel: Linux 6.8.0-59-generic`): a
        report without the kernel plugin's `uname -a` (Sunbeam's) still says which kernel ran."""
        hit = self.command("hostnamectl status", "host")
        if hit is None or hit.path is None or hit.path.stat().st_size > 65536:
            return ""
        m = _HOSTNAMECTL_KERNEL.search(hit.path.read_text(errors="replace"))
        return m.group(1)[:255] if m else ""

    def _date(self, cmd: str, root_link: str) -> datetime | None:
        hit = self.command(cmd, "date")
        path = hit.path if hit is not None else self.open(root_link)[0]
        if path is None or path.stat().st_size > 4096:
            return None
        return parse_date(path.read_text(errors="replace"))


_HOSTNAMECTL_KERNEL = re.compile(r"^\s*Kernel:\s*Linux\s+(\S+)", re.MULTILINE)


def _tool(cmd: str) -> str:
    """The program a command line runs (its error lines start with its name), also inside a
    namespace.

    >>> _tool("ip netns exec qrouter-1 iptables-save"), _tool("ovs-vsctl -t 5 show")
    ('iptables-save', 'ovs-vsctl')
    """
    words = cmd.split()
    if words[:3] == ["ip", "netns", "exec"] and len(words) > 4:
        return words[4]
    return words[0] if words else ""


def _prefixed(sorted_keys: list[str], prefix: str) -> Iterator[str]:
    """The keys that start with `prefix`, from a sorted list (a binary search, then a walk)."""
    i = bisect.bisect_left(sorted_keys, prefix)
    while i < len(sorted_keys) and sorted_keys[i].startswith(prefix):
        yield sorted_keys[i]
        i += 1


def _rc_words(rc: int | None) -> str:
    if rc == 127:
        return "not installed on the host (exit 127)"
    if rc == TIMEOUT_RC:
        return "timed out"
    return f"no output kept (exit {rc})" if rc is not None else "no output kept"


def _status(text: str, rc: int | None, tool: str) -> tuple[Status, str]:
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if rc == TIMEOUT_RC:
        return Status.TIMEOUT, "timed out when sos ran it"
    if rc == 127:
        return Status.MISSING, f"{tool}: not installed on the host"
    missing = _NOT_INSTALLED.search(first)
    if missing and rc != 0:
        return Status.MISSING, f"{tool}: not installed where sos ran it ({first[:200]})"
    low = first.lower()
    looks_failed = first.startswith(f"{tool}:") and any(w in low for w in ERROR_WORDS)
    if (rc not in (None, 0) and (looks_failed or not text.strip())) or (rc is None and looks_failed):
        return (Status.DENIED if "permission denied" in low else Status.ERROR), first[
            :500
        ] or f"exit status {rc}"
    return Status.OK, ""


def _evidence(spec: Spec, hit: Hit, netns: str, key: str = "") -> Evidence:
    """The evidence of one file or command output of the report; an error of a known form worded."""
    ev = _read(spec, hit, netns, key)
    if not ev.ok and ev.why is None:
        ev.why = words_of(ev.error)
    return ev


def _read(spec: Spec, hit: Hit, netns: str, key: str = "") -> Evidence:
    if hit.path is None:
        return Evidence(spec.name, Status.DENIED, source=hit.rel, netns=netns, key=key, rc=hit.rc,
                        error=f"{hit.rel}: permission denied")  # fmt: skip
    try:
        size = hit.path.stat().st_size
        if size > INLINE_MAX:
            with hit.path.open(errors="replace") as fh:
                head = fh.read(4096)
            status, error = _status(head, hit.rc, hit.tool)
            return Evidence(spec.name, status, source=hit.rel, netns=netns, key=key, rc=hit.rc, error=error,
                            path=hit.path)  # fmt: skip
        text = hit.path.read_text(errors="replace")
    except PermissionError:
        return Evidence(spec.name, Status.DENIED, source=hit.rel, netns=netns, key=key, rc=hit.rc,
                        error=f"{hit.rel}: permission denied")  # fmt: skip
    except OSError as exc:
        return Evidence(spec.name, Status.ERROR, source=hit.rel, netns=netns, key=key, rc=hit.rc,
                        error=f"{hit.rel}: {exc.strerror or exc}")  # fmt: skip
    status, error = _status(text, hit.rc, hit.tool)
    return Evidence(
        spec.name, status, text=text, source=hit.rel, netns=netns, key=key, rc=hit.rc, error=error
    )


def _resolve(sos: SosReport, spec: Spec, netns: str, seen: _Lookup) -> list[Evidence]:
    prefix = f"ip netns exec {netns} " if netns else ""
    plugin = spec.sos_plugin
    if spec.per:
        for tmpl in spec.sos:
            found: list[Evidence] = []
            for obj, hit in sos.commands_like(prefix + tmpl, plugin):
                ev = _evidence(spec, hit, netns, key=obj)
                ev.key = spec.key_from_content(ev.text) or obj
                found.append(ev)
            if found:
                return found
        return []
    for cmd in spec.sos:
        one = sos.command(prefix + cmd, plugin, seen)
        if one is not None:
            return [_evidence(spec, one, netns)]
    if netns:
        return []  # sos keeps files (/proc, /etc) of the host namespace only
    found = []
    names: set[str] = set()
    for pattern in spec.sos_file:
        rels = (
            sorted(
                str(Path(h).relative_to(sos.root))
                for h in glob.glob(glob.escape(str(sos.root)) + "/" + pattern)
            )
            if "*" in pattern
            else [pattern]
        )
        for rel in rels:
            path, denied = sos.open(rel)
            if path is None and not denied:
                continue
            name = Path(rel).name
            each = spec.collector == "tail" or spec.each or "*" in pattern
            key = "" if not each else (name if name not in names else rel)
            names.add(name)
            found.append(_evidence(spec, Hit(rel, path, None), netns, key=key))
        if found and spec.collector != "tail" and not spec.each:
            return found  # the first pattern that exists; logs and `each = true`: every one
    return found


def _missing(spec: Spec, netns: str, sos: SosReport, seen: _Lookup) -> Evidence:
    words: Msg | None = None
    if netns and not spec.sos:
        words = Msg("sos_not_in_netns")
        why = "sos does not collect this inside namespaces"
    elif seen.said:
        why = "; ".join(dict.fromkeys(seen.said))
    else:
        looked = ", ".join([*(f"`{c}`" for c in spec.sos), *spec.sos_file][:3])
        words = Msg("sos_looked_for", {"looked": looked}) if looked else Msg("sos_not_in")
        why = "not in this sosreport" + (f" (looked for {looked})" if looked else "")
    if spec.sos_plugin and sos.under_denied(f"sos_commands/{spec.sos_plugin}"):
        return Evidence(spec.name, Status.DENIED, source=f"sos_commands/{spec.sos_plugin}", netns=netns,
                        error=f"sos_commands/{spec.sos_plugin}: permission denied")  # fmt: skip
    return Evidence(spec.name, Status.MISSING, source="sosreport", netns=netns, error=why, why=words)


def namespaces_of(sos: SosReport, notes: list[Note]) -> list[str]:
    """The named network namespaces `ip netns` listed when sos ran (odd names are left out)."""
    hit = sos.command("ip netns", "networking")
    if hit is None or hit.path is None or hit.path.stat().st_size > 16 * 1024 * 1024:
        return []
    names: list[str] = []
    odd = 0
    for line in hit.path.read_text(errors="replace").splitlines():
        name = line.split(" (id:", 1)[0].strip() if line.strip() else ""
        if not name:
            continue
        if _NETNS_NAME.match(name) and name not in names:
            names.append(name)
        else:
            odd += 1
    if odd:
        notes.append(Msg("sos_odd_netns_lines", {"file": hit.rel, "n": odd}))
    return names


def read_sosreport(
    root: Path, label: str, scopes: list[str] | None = None, all_netns: bool = False
) -> Bundle:
    sos = SosReport(root)
    bundle = Bundle(source=f"sosreport:{label}")
    bundle.notes += sos.notes
    names = namespaces_of(sos, bundle.notes)
    if scopes:
        unknown = [s for s in scopes if s and s not in names]
        if unknown:
            have = ", ".join(names[:5]) + (" …" if len(names) > 5 else "") if names else "none"
            raise BadSource(
                f"{label}: no network namespace named {', '.join(unknown)} in this sosreport (it has: {have})"
            )
        bundle.namespaces = list(scopes)
    else:
        bundle.namespaces = [HOST, *names] if all_netns else [HOST]
    if not sos.has_manifest:
        bundle.notes.append(Msg("sos_no_manifest"))
    pieces: dict[tuple[str, str], list[Evidence]] = {}
    for spec in catalogue().values():
        if not (spec.sos or spec.sos_file):
            continue  # live-only evidence (probes, `ip netns list-id`): not in any sosreport
        targets = [HOST] if spec.scope == "host" else bundle.namespaces
        for ns in targets:
            seen = _Lookup()
            found = _resolve(sos, spec, ns, seen)
            if not found and spec.per:
                continue  # nothing per-NIC / per-bridge: no piece to report missing
            pieces[(spec.name, ns)] = found or [_missing(spec, ns, sos, seen)]
    _daemon_logs(sos, pieces)
    for found in pieces.values():
        for ev in found:
            bundle.add(ev)
    if sos.wrappers:
        bundle.notes.append(Msg("sos_wrappers", {"wrappers": ", ".join(sorted(sos.wrappers))}))
    host = bundle.get("hostname")
    first = host.content().strip().splitlines() if host and host.ok else []
    bundle.hostname = first[0][:255] if first else root.name
    uname = bundle.get("uname")
    parts = uname.content().split() if uname and uname.ok else []
    bundle.kernel = parts[2] if len(parts) > 2 else sos.hostnamectl_kernel()
    bundle.collected_at = sos.collected_at()
    return bundle


def _daemon_logs(sos: SosReport, pieces: dict[tuple[str, str], list[Evidence]]) -> None:
    """Logs a daemon of the process list was told to write elsewhere (`--log-file=PATH`: a snap,
    a private OVS_LOGDIR), copied by sos under the same path: read like the usual ones."""
    ps = [ev for ev in pieces.get(("ps", HOST), []) if ev.ok]
    try:
        procs = parse_ps(ps[0].content()) if ps else []
    except ValueError:
        return
    for spec in catalogue().values():
        if not spec.log_of or (spec.name, HOST) not in pieces:
            continue
        found = [ev for ev in pieces[(spec.name, HOST)] if ev.status is not Status.MISSING]
        have, keys = {ev.source for ev in found}, {ev.key for ev in found}
        for p in procs:
            path = log_file_of(p.command) if p.program == spec.log_of else None
            rel = path.lstrip("/") if path else ""
            if not rel or rel in have:
                continue
            real, denied = sos.open(rel)
            if real is None and not denied:
                continue
            name = Path(rel).name
            found.append(_evidence(spec, Hit(rel, real, None), HOST, key=name if name not in keys else rel))
            have.add(rel)
            keys.add(name)
        if found:
            pieces[(spec.name, HOST)] = found


class Wanted:
    """Which files of a sosreport the catalogue can use (an archive's other members are never
    unpacked: a real report holds ~85,000 members, a diagnosis reads a few hundred)."""

    def __init__(self) -> None:
        prefixes: set[str] = {"date", "hostnamectl_status"}  # when it was taken; the kernel without uname
        files: set[str] = {MANIFEST, "date", "version.txt"}
        globs: list[str] = []
        for spec in catalogue().values():
            for cmd in spec.sos:
                head = cmd.split("{", 1)[0]
                prefixes.add(mangle_part(head) if "{" in cmd else mangle(cmd))
            for pattern in spec.sos_file:
                if "*" in pattern:
                    globs.append(pattern)
                else:
                    files.add(pattern)
            if spec.log_of:  # wherever the daemon was told to write it (`--log-file=PATH`)
                globs += [f"*/{Path(f).name}" for f in spec.sos_file]
        self.prefixes = tuple(sorted(p for p in prefixes if p))
        self.files = frozenset(files)
        self.globs = re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs) or "(?!)")

    def __call__(self, rel: str) -> bool:
        if rel in self.files:
            return True
        if rel.startswith("sos_commands/") and self._command(rel.rsplit("/", 1)[-1]):
            return True
        return self.globs.match(rel) is not None

    def _command(self, name: str) -> bool:
        if name.startswith(self.prefixes):
            return True
        if name.startswith(("ip_netns_exec_", "docker_exec_", "podman_exec_")):
            return any(f"_{p}" in name for p in self.prefixes)
        return any(inner.startswith(self.prefixes) for _, inner in unwrap_file(name))
