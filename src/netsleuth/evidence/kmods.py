"""Which kernel modules are loaded: collection must not load one (sos's `SoSPredicate(kmods=...)`).

`conntrack`, `iptables`, `nft` and `ss` make the kernel load the module they talk to when it is
absent; loading nf_conntrack alone can fill a conntrack table. A command whose modules are not
loaded is not run; its evidence is `missing` with that reason.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROC_MODULES = Path("/proc/modules")
SYS_MODULE = Path("/sys/module")
MODULES_DIR = Path("/lib/modules")


@dataclass(frozen=True)
class KernelModules:
    loadable: bool  # False: a kernel without module support (/proc/modules absent): nothing can load
    loaded: frozenset[str]

    def allows(self, kmods: tuple[str, ...]) -> str:
        """ "" when a command gated on `kmods` may run, else why not.

        >>> KernelModules(True, frozenset({"nf_tables", "nfnetlink"})).allows(("nf_tables nfnetlink",))
        ''
        >>> KernelModules(True, frozenset({"ip_tables"})).allows(("nf_conntrack_netlink",))
        'kernel module nf_conntrack_netlink is not loaded (running it would load it and change the host)'
        >>> KernelModules(False, frozenset()).allows(("nf_conntrack_netlink",))
        ''
        """
        if not kmods or not self.loadable:
            return ""
        for alternative in kmods:
            if all(m in self.loaded for m in alternative.split()):
                return ""
        names = " or ".join(" and ".join(a.split()) for a in kmods)
        one = len(kmods) == 1 and len(kmods[0].split()) == 1
        return f"kernel module{'' if one else 's'} {names} {'is' if one else 'are'} not loaded " + (
            "(running it would load it and change the host)"
        )


def _norm(name: str) -> str:
    return name.replace("-", "_")


def kernel_modules(
    proc_modules: Path = PROC_MODULES, sys_module: Path = SYS_MODULE, modules_dir: Path = MODULES_DIR
) -> KernelModules:
    """Loaded modules: /proc/modules, the kernel's built-in list and /sys/module."""
    try:
        text = proc_modules.read_text(errors="replace")
    except FileNotFoundError:
        return KernelModules(False, frozenset())
    except OSError:
        text = ""
    loaded = {_norm(line.split()[0]) for line in text.splitlines() if line.strip()}
    with contextlib.suppress(OSError):
        loaded |= {_norm(n) for n in os.listdir(sys_module)}
    try:
        builtin = (modules_dir / os.uname().release / "modules.builtin").read_text(errors="replace")
        loaded |= {
            _norm(Path(line.strip()).name.split(".ko")[0]) for line in builtin.splitlines() if line.strip()
        }
    except OSError:
        pass
    return KernelModules(True, frozenset(loaded))
