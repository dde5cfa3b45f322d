"""An OpenSSH server inside a lab namespace, as a host of a fleet: its own hostname, its own host key.

Everything it uses is generated in the lab's private run directory (config, host key, authorized
keys, pid file, log); never the machine's ~/.ssh or /etc/ssh. It runs `sshd -f CONFIG -D` under
`unshare --uts`, so what a login runs there sees the host's own hostname (namespace hosts otherwise
share the machine's UTS namespace). Stopped by pid on `down`.

A login there gets HOME set to an empty directory of the lab (`SetEnv HOME=`): the shell sshd
starts (`bash -c`, which reads ~/.bashrc when run by sshd) must not run the machine's root dotfiles.
They are not part of a lab host, can take long or hang (a stale `pyenv rehash` lock made every
command wait 60 s) and can write in the machine's home (that lock was left there by a lab session
killed mid-command).

sshd running as root needs its privilege-separation directory (/run/sshd, which Debian's unit makes
at start): the lab makes it when it is missing and removes it on `down` only then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from netsleuth.lab.blocks import Netns
from netsleuth.lab.core import LabRun
from netsleuth.lab.shell import LabError, LabUnavailable, sh

SSHD = "/usr/sbin/sshd"
PRIVSEP = Path("/run/sshd")


def keygen(path: Path, comment: str) -> str:
    """A new ed25519 key pair at `path` (no passphrase); returns the public key line."""
    if not path.exists():
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class Sshd:
    """One namespace host's sshd."""

    ns: Netns
    hostname: str
    address: str
    dir: Path
    host_key: str  # the public host key line, for known_hosts

    @classmethod
    def start(
        cls, lab: LabRun, ns: Netns, hostname: str, address: str, authorized: list[str], port: int = 22
    ) -> Sshd:
        """Start sshd in `ns` on `address`:`port`, letting in the public keys `authorized` (as root)."""
        if not Path(SSHD).exists():
            raise LabUnavailable(f"{SSHD} is not installed (Debian package openssh-server)")
        d = lab.path("ssh", hostname, "x").parent
        d.chmod(0o700)
        host_key = keygen(d / "host_ed25519", f"netsleuth-lab {hostname}")
        home = d / "home"
        home.mkdir(mode=0o700, exist_ok=True)
        (d / "authorized_keys").write_text("".join(k + "\n" for k in authorized))
        conf = d / "sshd_config"
        conf.write_text(
            "\n".join(
                [
                    f"ListenAddress {address}",
                    f"Port {port}",
                    f"HostKey {d / 'host_ed25519'}",
                    f"PidFile {d / 'sshd.pid'}",
                    f"AuthorizedKeysFile {d / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PrintMotd no",
                    f"SetEnv HOME={home}",
                    "MaxStartups 64:30:128",
                    "Subsystem sftp internal-sftp",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        if not PRIVSEP.exists():
            lab.journal(kind="path", path=str(PRIVSEP))
            PRIVSEP.mkdir(mode=0o755, exist_ok=True)
        script = 'hostname "$0" && exec "$1" -D -e -f "$2"'
        proc = lab.spawn(
            ["unshare", "--uts", "sh", "-c", script, hostname, SSHD, str(conf)], netns=ns, log=d / "sshd.log"
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                log = (d / "sshd.log").read_text(errors="replace").strip().splitlines()
                raise LabError(f"sshd of {hostname} exited: {log[-1] if log else proc.returncode}")
            listening = sh(["ss", "-Hltn", f"sport = :{port}"], netns=ns.name, check=False).stdout
            if address in listening:
                return cls(ns, hostname, address, d, host_key)
            time.sleep(0.05)
        raise LabError(f"sshd of {hostname} is not listening on {address}:{port} after 5 s")
