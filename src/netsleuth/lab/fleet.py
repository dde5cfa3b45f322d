"""A fleet lab: namespace hosts joined by a VXLAN mesh (vxlan_fleet), each running its own sshd with
its own hostname, and a controller namespace on the same underlay from which Ansible reaches them.

Everything SSH and Ansible use is generated in the lab's private run directory: the user key the
controller logs in with, each host's host key (and a known_hosts naming them, so host keys are
checked), an ansible.cfg (ssh options `-F /dev/null`, that key only, no agent, control sockets and
temporary files in the run directory) and an INI inventory. Ansible and `netsleuth fleet` run
inside the controller namespace, which has no route but the lab's underlay: they can reach nothing
else. Nothing of the machine's ~/.ssh, /etc/ssh or ~/.ansible is read or written.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from netsleuth.lab import Lab
from netsleuth.lab.blocks import Netns
from netsleuth.lab.sshd import Sshd, keygen
from netsleuth.lab.vxlan_fleet import UNDERLAY, FleetHost, VxlanFleetSpec, build_vxlan_fleet

CONTROLLER = f"{UNDERLAY}.250"
HOST_PYTHON = "/usr/bin/python3"  # the distro python3 of a production host: no netsleuth installed


@dataclass
class FleetSpec:
    """The VXLAN mesh and, per host, how its SSH or firewall is set up."""

    mesh: VxlanFleetSpec = field(default_factory=VxlanFleetSpec)
    no_sshd: set[str] = field(default_factory=set)  # hosts whose sshd is not running (unreachable)
    wrong_key: set[str] = field(default_factory=set)  # hosts that do not accept the controller's key
    drop_udp: dict[str, int] = field(default_factory=dict)  # host -> UDP port its INPUT chain drops
    drop_udp_out: dict[str, int] = field(default_factory=dict)  # host -> UDP port its OUTPUT chain drops


@dataclass
class FleetLab:
    hosts: list[FleetHost]
    controller: Netns
    dir: Path  # the controller's files: key, known_hosts, ansible.cfg, inventory
    inventory: Path
    env: dict[str, str]  # what Ansible needs in the controller namespace (ANSIBLE_CONFIG ...)

    def argv(self, *args: str) -> list[str]:
        """`args` run inside the controller namespace (a full command line)."""
        return ["ip", "netns", "exec", self.controller.name, *args]

    def shell(self, *args: str) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return f"ip netns exec {self.controller.name} env {env} {shlex.join(args)}"


def _ansible_files(d: Path, hosts: list[FleetHost], host_keys: dict[str, str]) -> tuple[Path, dict[str, str]]:
    key = d / "id_ed25519"
    known = d / "known_hosts"
    known.write_text(
        "".join(
            f"{h.underlay} {' '.join(host_keys[h.name].split()[:2])}\n" for h in hosts if h.name in host_keys
        )
    )
    ssh_args = " ".join(
        [
            "-F /dev/null",
            f"-o UserKnownHostsFile={known}",
            "-o GlobalKnownHostsFile=/dev/null",
            "-o StrictHostKeyChecking=yes",
            "-o IdentitiesOnly=yes",
            f"-o IdentityFile={key}",
            "-o BatchMode=yes",
            "-o ConnectTimeout=5",
            "-o ControlMaster=auto",
            "-o ControlPersist=30s",
        ]
    )
    cfg = d / "ansible.cfg"
    cfg.write_text(
        "\n".join(
            [
                "[defaults]",
                f"inventory = {d / 'inventory.ini'}",
                f"local_tmp = {d / 'local-tmp'}",
                "host_key_checking = True",
                "retry_files_enabled = False",
                "timeout = 10",
                "",
                "[ssh_connection]",
                f"ssh_args = {ssh_args}",
                f"control_path_dir = {d / 'cp'}",
                "pipelining = True",
                "",
            ]
        )
    )
    inv = d / "inventory.ini"
    lines = ["[fleet]"]
    lines += [f"{h.name} ansible_host={h.underlay}" for h in hosts]
    lines += [
        "",
        "[fleet:vars]",
        "ansible_user=root",
        f"ansible_remote_tmp={d / 'remote-tmp'}",
        f"netsleuth_python={HOST_PYTHON}",
        "",
    ]
    inv.write_text("\n".join(lines))
    env = {
        "ANSIBLE_CONFIG": str(cfg),
        "ANSIBLE_HOME": str(d / "home"),
        "SSH_AUTH_SOCK": "",  # no agent: only the lab's key is offered
    }
    return inv, env


def underlay_bridge(lab: Lab) -> Netns:
    """The namespace holding the underlay bridge `br0` (made by build_vxlan_fleet)."""
    return Netns(lab, f"{lab.prefix}-ul", "ul")


def build_fleet(lab: Lab, spec: FleetSpec) -> FleetLab:
    """Build the mesh, start each host's sshd, add the controller; write the Ansible files."""
    hosts = build_vxlan_fleet(lab, spec.mesh)
    ctl = lab.netns("ctl")
    lab.veth(underlay_bridge(lab), "pctl", ctl, "eth0", master="br0", peer_addr=f"{CONTROLLER}/24")
    d = lab.path("controller", "x").parent
    d.chmod(0o700)
    user_key = keygen(d / "id_ed25519", "netsleuth-lab controller")
    stranger = keygen(d / "stranger_ed25519", "netsleuth-lab a key the controller does not hold")
    host_keys: dict[str, str] = {}
    for h in hosts:
        for chain, drops in (("INPUT", spec.drop_udp), ("OUTPUT", spec.drop_udp_out)):
            if h.name in drops:
                h.ns.iptables("-A", chain, "-p", "udp", "--dport", str(drops[h.name]), "-j", "DROP")
        if h.name in spec.no_sshd:
            continue
        key = stranger if h.name in spec.wrong_key else user_key
        host_keys[h.name] = Sshd.start(lab, h.ns, h.name, h.underlay, [key]).host_key
    inv, env = _ansible_files(d, hosts, host_keys)
    return FleetLab(hosts, ctl, d, inv, env)
