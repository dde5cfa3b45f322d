"""Issue 9 item 4: a remedy's commands go where the service runs. kolla-ansible runs Open vSwitch
and the Neutron agents in docker containers (`docker exec openvswitch_vswitchd ovs-vsctl ...`,
`docker restart neutron_l3_agent`), TripleO its agents in podman ones, Sunbeam Open vSwitch in
the openstack-hypervisor snap (`openstack-hypervisor.ovs-vsctl`, the real report's file names;
its services `snap.openstack-hypervisor.ovs-vswitchd.service` in the real process cgroups)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsleuth.evidence.model import Evidence, Status
from netsleuth.evidence.source import open_source
from netsleuth.facts.ovs import OvsHome
from netsleuth.facts.store import FactStore
from tests.helpers import FIXTURES, bundle, ev, findings, fixture, run, sos_tree
from tests.unit.test_rules_core import _ovs
from tests.unit.test_rules_fleet import fleet_rule, lab_host, model_of
from tests.unit.test_rules_ovs import ovs_bundle

KOLLA_PS = fixture("platform/docker_ps_a_kolla_network.txt")
TRIPLEO_PS = fixture("platform/podman_ps_a_tripleo_network.txt")
HOTSOS = Path(__file__).resolve().parents[2].parent / "shared" / "external" / "hotsos-data" / "roots"
P = "platform/"


def _kolla() -> Evidence:
    return ev("containers.docker", KOLLA_PS, source="docker ps -a")


def _commands(lines: list[str]) -> str:
    return "\n".join(lines)


# --- Open vSwitch in kolla's containers ----------------------------------------------------------


def test_hung_vswitchd_in_a_kolla_container_is_restarted_as_that_container() -> None:
    (f,) = findings(
        run(bundle(*_ovs(Status.TIMEOUT), _kolla()), {"ovs.vswitchd_unresponsive"}),
        "ovs.vswitchd_unresponsive",
    )
    now, persist = _commands(f.remedy.now), _commands(f.remedy.persist)
    assert "docker restart openvswitch_vswitchd   # `ovs-vswitchd` runs in this container (`docker`)" in now
    assert "systemctl" not in now and "openvswitch-switch" not in now + persist
    assert (
        "timeout -s KILL 5 docker exec openvswitch_vswitchd ovs-appctl -t ovs-vswitchd version >/dev/null "
        "|| docker restart openvswitch_vswitchd" in persist
    )
    assert "kill -CONT 812" in now  # the host sees the container's processes: same pid


def test_dead_ovsdb_in_a_kolla_container_restarts_the_db_container() -> None:
    r = run(bundle(*_ovs(Status.TIMEOUT, vsctl=Status.TIMEOUT), _kolla()), {"ovs.ovsdb_unreachable"})
    (f,) = findings(r, "ovs.ovsdb_unreachable")
    assert f.remedy.now[:2] == [
        "docker ps -a --filter name=openvswitch_db",
        "docker logs --tail 50 openvswitch_db",
    ]
    assert any(c.startswith("docker restart openvswitch_db   # ") for c in f.remedy.now)
    assert f.remedy.persist[0].startswith(
        "docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' openvswitch_db   # it runs in a container"
    )


def test_interface_error_commands_run_in_the_ovs_container() -> None:
    (f,) = findings(run(ovs_bundle(_kolla()), {"ovs.interface_error"}), "ovs.interface_error")
    assert "docker exec openvswitch_vswitchd ovs-vsctl list Interface eth9x26462" in f.remedy.now
    assert (
        "docker exec openvswitch_vswitchd ovs-vsctl del-port brb26462 eth9x26462   # if eth9x26462 is gone for good"
        in f.remedy.now
    )


def test_commands_sos_ran_in_a_container_say_where_ovs_is(tmp_path: Path) -> None:
    """A sosreport of a kolla host whose `docker ps` is not in it: the container sos ran the OVS
    commands in is where they go."""
    show = 'b1c0e7a4-55d1-4a0b-8c2e-6f1a3d9e0b11\n    Bridge br-int\n    ovs_version: "3.1.0"\n'
    root = sos_tree(
        tmp_path,
        {
            "sos_commands/openvswitch/docker_exec_openvswitch_vswitchd_ovs-vsctl_-t_5_show": show,
            "sos_commands/openvswitch/docker_exec_openvswitch_vswitchd_ovs-vsctl_-t_5_list_interface": fixture(
                "nic/lab_ovs_list_interface.json"
            ),
        },
    )
    with open_source(root) as b:
        home = FactStore(b).get(OvsHome)
    assert home == OvsHome("docker", "openvswitch_vswitchd", "openvswitch_vswitchd", "openvswitch_vswitchd")


# --- Open vSwitch in Sunbeam's snap ----------------------------------------------------------------


def test_the_real_sunbeam_report_runs_ovs_in_the_openstack_hypervisor_snap() -> None:
    root = HOTSOS / "sunbeam"
    if not root.is_dir():
        pytest.skip(f"{root}: hotsos data not present")
    with open_source(root) as b:
        assert FactStore(b).get(OvsHome) == OvsHome("snap", "openstack-hypervisor")


def test_dead_ovsdb_in_the_snap_is_looked_at_and_restarted_through_the_snap(tmp_path: Path) -> None:
    root = HOTSOS / "sunbeam"
    if not root.is_dir():
        pytest.skip(f"{root}: hotsos data not present")
    error = (
        "ovs-vsctl: unix:/var/snap/openstack-hypervisor/common/run/openvswitch/db.sock: "
        "database connection failed (Connection refused)\n"
    )
    shown = "sos_commands/openvswitch/openstack-hypervisor.ovs-vsctl_-t_5_show"
    tree = sos_tree(
        tmp_path,
        {
            shown: error,
            "sos_commands/process/ps_auxwwwm": (root / "sos_commands/process/ps_auxwwwm").read_text(),
        },
        {"openstack-hypervisor.ovs-vsctl -t 5 show": (shown, 1)},
    )
    with open_source(tree) as b:
        (f,) = findings(run(b, {"ovs.ovsdb_unreachable"}), "ovs.ovsdb_unreachable")
    now = _commands(f.remedy.now)
    assert (
        "ls -l /var/snap/openstack-hypervisor/common/run/openvswitch/db.sock; "
        "tail -n 50 /var/snap/openstack-hypervisor/common/log/openvswitch/ovsdb-server.log" in now
    )
    assert "snap restart openstack-hypervisor.ovsdb-server   # `ovsdb-server`: services of the" in now
    assert "systemctl" not in now
    assert f.remedy.persist[0].startswith(
        "snap start --enable openstack-hypervisor.ovsdb-server openstack-hypervisor.ovs-vswitchd"
    )


def test_snap_ovs_tools_keep_the_snap_prefix_in_datapath_commands() -> None:
    sunbeam_ps = (
        "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n"
        "root        2056  0.0  0.6 760116 105540 ?       Sl   04:22   0:25 ovs-vswitchd "
        "unix:/var/snap/openstack-hypervisor/common/run/openvswitch/db.sock -vconsole:emer --detach\n"
    )
    lost = fixture("nic/seed004_ovs_dpctl_show.txt").replace("lost:0", "lost:120")
    b = bundle(ev("ovs.dpctl_show", lost), ev("ps", sunbeam_ps))
    (f, *_) = findings(run(b, {"ovs.datapath_lost"}), "ovs.datapath_lost")
    assert f.remedy.now[0].startswith("openstack-hypervisor.ovs-appctl upcall/show   # ")
    assert f.remedy.now[2].startswith("top -H -p $(pidof ovs-vswitchd)")  # a host command stays one


# --- Neutron agents in containers ----------------------------------------------------------------


def test_dead_agents_in_kolla_containers_are_restarted_as_containers() -> None:
    b = bundle(
        ev("ip.netns", fixture(P + "ip_netns_neutron.txt")),
        ev("ps", fixture(P + "ps_auxww_plain.txt")),
        _kolla(),
    )
    found = {f.subject: f for f in findings(run(b, {"neutron.agent_down"}), "neutron.agent_down")}
    assert found["neutron-l3-agent"].remedy.now == [
        "docker ps -a --filter name=neutron_l3_agent",
        "docker logs --tail 100 neutron_l3_agent",
        "docker restart neutron_l3_agent",
    ]
    assert (
        found["neutron-dhcp-agent"]
        .remedy.persist[0]
        .startswith("docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' neutron_dhcp_agent   # ")
    )


def test_dead_agents_in_tripleo_podman_containers_found_by_their_image() -> None:
    b = bundle(
        ev("ip.netns", fixture(P + "ip_netns_neutron.txt")),
        ev("ps", fixture(P + "ps_auxww_plain.txt")),
        ev("containers.podman", TRIPLEO_PS, source="podman ps -a"),
    )
    found = {f.subject: f for f in findings(run(b, {"neutron.agent_down"}), "neutron.agent_down")}
    assert found["neutron-l3-agent"].remedy.now[-1] == "podman restart neutron_l3_agent"
    assert found["neutron-dhcp-agent"].remedy.now[-1] == "podman restart neutron_dhcp"  # TripleO's name


def test_agent_list_restart_follows_the_container_only_on_this_host() -> None:
    agents = ev("user.input", fixture(P + "agents_l3_down.json"), key="agents_l3_down.json")
    here = bundle(agents, _kolla())
    here.hostname = "network1.example.net"
    (f,) = findings(run(here, {"neutron.agent_down"}), "neutron.agent_down")
    assert f.remedy.now[:3] == [
        "docker ps -a --filter name=neutron_l3_agent",
        "docker logs --tail 100 neutron_l3_agent",
        "docker restart neutron_l3_agent",
    ]
    # another host: this host's containers say nothing of how the agent runs there
    (f,) = findings(run(bundle(agents, _kolla()), {"neutron.agent_down"}), "neutron.agent_down")
    assert f.remedy.now[0] == "ssh network1" and "systemctl restart neutron-l3-agent" in f.remedy.now


def test_a_host_without_containers_keeps_its_systemd_commands() -> None:
    (f,) = findings(
        run(bundle(*_ovs(Status.TIMEOUT)), {"ovs.vswitchd_unresponsive"}), "ovs.vswitchd_unresponsive"
    )
    assert "systemctl restart openvswitch-switch   # RHEL: systemctl restart openvswitch" in f.remedy.now
    tripleo = bundle(*_ovs(Status.TIMEOUT), ev("containers.podman", TRIPLEO_PS))  # OVS on the host there
    (f,) = findings(run(tripleo, {"ovs.vswitchd_unresponsive"}), "ovs.vswitchd_unresponsive")
    assert "systemctl restart openvswitch-switch   # RHEL: systemctl restart openvswitch" in f.remedy.now


def test_chinese_comments_of_container_commands() -> None:
    (f,) = findings(
        run(bundle(*_ovs(Status.TIMEOUT), _kolla()), {"ovs.vswitchd_unresponsive"}, lang="zh"),
        "ovs.vswitchd_unresponsive",
    )
    assert (
        "docker restart openvswitch_vswitchd   # `ovs-vswitchd` 运行在这个容器中（`docker`），不是主机上的服务"
        in f.remedy.now
    )


# --- OVS commands of the NIC rules ---------------------------------------------------------------


def test_ovs_bond_of_a_kolla_host_is_shown_from_the_ovs_container() -> None:
    b = bundle(
        ev("ovs.bond_show", fixture("nic/lab_ovs_bond_show_member_down.txt"), source="ovs-appctl bond/show"),
        _kolla(),
    )
    [f] = findings(run(b, {"nic.bond_member_down"}), "nic.bond_member_down")
    assert f.remedy.now[0] == "docker exec openvswitch_vswitchd ovs-appctl bond/show bond26462"
    assert f.remedy.now[1].startswith("ethtool nb2a26462")  # the NIC is the host's


# --- fleet: each host's own containers ----------------------------------------------------------


def test_fleet_agent_down_restarts_the_container_of_that_host() -> None:
    agents = FIXTURES / "platform" / "agents_l3_down.json"
    network1 = lab_host("hv1", ps="ps_auxww_plain.txt")
    network1.add(_kolla())
    model = model_of({"network1": network1, "hv2": lab_host("hv2")})
    (f,), _ = fleet_rule(model, "fleet.agent_down", extra=(agents,))
    assert f.remedy.now[:4] == [
        "ssh network1",
        "docker ps -a --filter name=neutron_l3_agent",
        "docker logs --tail 100 neutron_l3_agent",
        "docker restart neutron_l3_agent",
    ]
    plain = model_of({"network1": lab_host("hv1", ps="ps_auxww_plain.txt"), "hv2": lab_host("hv2")})
    (f,), _ = fleet_rule(plain, "fleet.agent_down", extra=(agents,))
    assert "systemctl restart neutron-l3-agent" in f.remedy.now


def test_the_worded_ovs_vsctl_of_datapath_lost_names_the_container() -> None:
    lost = fixture("nic/seed004_ovs_dpctl_show.txt").replace("lost:0", "lost:120")
    for lang in ("en", "zh"):
        (f, *_) = findings(
            run(bundle(ev("ovs.dpctl_show", lost), _kolla()), {"ovs.datapath_lost"}, lang),
            "ovs.datapath_lost",
        )
        assert (
            "`docker exec openvswitch_vswitchd ovs-vsctl set Open_vSwitch . other_config:n-handler-threads=<cores>`"
            in f.remedy.persist[0]
        )
