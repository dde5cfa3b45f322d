"""Which kernel modules are loaded: collection must not load one (sos's `SoSPredicate(kmods=...)`).

`conntrack`, `iptables`, `nft` and `ss` make the kernel load the module they talk to when it is
absent; loading nf_conntrack alone can fill a conntrack table. A command whose modules are not
loaded is not run; its evidence is `missing` with that reason.
"""

import contextlib
import os
from typing import FrozenSet, Sequence, Union

PathLike = Union[str, "os.PathLike[str]"]
PROC_MODULES = "/proc/modules"
SYS_MODULE = "/sys/module"
MODULES_DIR = "/lib/modules"


class KernelModules:
    def __init__(self, loadable: bool, loaded: FrozenSet[str]) -> None:
        self.loadable = loadable  # False: a kernel without module support (/proc/modules absent)
        self.loaded = loaded

    def allows(self, kmods: Sequence[str]) -> str:
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
        return "kernel module{} {} {} not loaded (running it would load it and change the host)".format(
            "" if one else "s", names, "is" if one else "are"
        )


def _norm(name: str) -> str:
    return name.replace("-", "_")


def kernel_modules(
    proc_modules: PathLike = PROC_MODULES,
    sys_module: PathLike = SYS_MODULE,
    modules_dir: PathLike = MODULES_DIR,
) -> KernelModules:
    """Loaded modules: /proc/modules, the kernel's built-in list and /sys/module."""
    try:
        with open(os.fspath(proc_modules), errors="replace") as fh:
            text = fh.read()
    except FileNotFoundError:
        return KernelModules(False, frozenset())
    except OSError:
        text = ""
    loaded = {_norm(line.split()[0]) for line in text.splitlines() if line.strip()}
    with contextlib.suppress(OSError):
        loaded |= {_norm(n) for n in os.listdir(os.fspath(sys_module))}
    try:
        with open(
            os.path.join(os.fspath(modules_dir), os.uname().release, "modules.builtin"), errors="replace"
        ) as fh:
            builtin = fh.read()
        loaded |= {
            _norm(os.path.basename(line.strip()).split(".ko")[0])
            for line in builtin.splitlines()
            if line.strip()
        }
    except OSError:
        pass
    return KernelModules(True, frozenset(loaded))
