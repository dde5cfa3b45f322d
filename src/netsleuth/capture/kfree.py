"""Kernel drop reasons of the probe's window from tracefs `skb:kfree_skb`, in a private trace instance
(so the global trace buffer is untouched); the reason names come from the tracepoint's own format file."""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netsleuth import process
from netsleuth.messages import Msg

MOUNT_TIMEOUT = 10.0
TRACEFS = Path("/sys/kernel/tracing")
_SYM = re.compile(r"\{\s*(\d+)\s*,\s*\"(\w+)\"\s*\}")
_LINE = re.compile(r"kfree_skb:.*?protocol=(\d+)\s+location=(\S+)\s+reason:\s*(\w+)")


def reason_names(format_text: str) -> dict[int, str]:
    """The drop reasons a kernel knows, from the __print_symbolic table of its format file.

    >>> reason_names('print fmt: "reason: %s", __print_symbolic(REC->reason, { 1, "NOT_SPECIFIED" }, '
    ...              '{ 2, "NO_SOCKET" })')
    {1: 'NOT_SPECIFIED', 2: 'NO_SOCKET'}
    """
    fmt = format_text[format_text.find("print fmt:") :]
    return {int(n): name for n, name in _SYM.findall(fmt)}


@dataclass
class DropWatch:
    instance: Path | None
    mounted: bool
    note: Msg | None  # why drop reasons are not available (worded by path.loss_localized's entry)
    names: dict[int, str]

    @classmethod
    def start(cls, dest: str) -> DropWatch:
        mounted = False
        fmt = TRACEFS / "events/skb/kfree_skb/format"
        try:
            if not fmt.exists():
                if os.geteuid() != 0:
                    return cls(None, False, Msg("drops_need_root"), {})
                r = process.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], MOUNT_TIMEOUT)
                if not r.ok:
                    why = r.err_text().strip() or r.failed or f"exit status {r.rc}"
                    return cls(None, False, Msg("drops_mount_failed", {"detail": str(why)}), {})
                mounted = True
            text = fmt.read_text()
            if "reason" not in text:
                return cls(None, mounted, Msg("drops_no_reason_field"), {})
            names = reason_names(text)
            quiet = [
                n for n, name in names.items() if name in ("NOT_DROPPED_YET", "CONSUMED", "NOT_SPECIFIED")
            ]
            ethertype = 0x86DD if ":" in dest else 0x0800  # the probe's (an ARP is not the probe)
            flt = " && ".join([f"protocol == {ethertype}", *(f"reason != {n}" for n in quiet)])
            inst = TRACEFS / "instances" / f"netsleuth-{uuid.uuid4().hex[:8]}"
            inst.mkdir()
            (inst / "events/skb/kfree_skb/filter").write_text(flt + "\n")
            (inst / "events/skb/kfree_skb/enable").write_text("1\n")
            return cls(inst, mounted, None, names)
        except OSError as exc:
            return cls(None, mounted, Msg("drops_unavailable", {"detail": str(exc)}), {})

    def stop(self) -> tuple[list[dict[str, Any]], Msg | None]:
        """Stop tracing, remove the instance (and tracefs if we mounted it); the drops seen."""
        drops: Counter[tuple[str, str]] = Counter()
        try:
            if self.instance is not None:
                (self.instance / "events/skb/kfree_skb/enable").write_text("0\n")
                for line in (self.instance / "trace").read_text().splitlines():
                    m = _LINE.search(line)
                    if m:
                        reason = m.group(3)
                        if reason.isdigit():
                            reason = self.names.get(int(reason), reason)
                        drops[(reason, m.group(2))] += 1
                self.instance.rmdir()
        except OSError as exc:
            self.note = self.note or Msg("drops_unreadable", {"detail": str(exc)})
        finally:
            if self.mounted:
                process.run(["umount", str(TRACEFS)], MOUNT_TIMEOUT)
        found = [{"reason": r, "location": loc, "count": c} for (r, loc), c in drops.most_common(10)]
        return found, self.note
