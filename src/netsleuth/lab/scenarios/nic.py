"""Link faults (seeds 002/003): an interface that carries traffic is up but has no carrier."""

from __future__ import annotations

from netsleuth.lab import Lab
from netsleuth.lab.scenario import Scenario, Vantage, scenario


@scenario
class BridgePortNoCarrier(Scenario):
    """A bridged veth whose peer is down: the containers behind the bridge are cut off (seed 003)."""

    name = "nic-no-carrier"
    expect = "nic.no_carrier"
    expect_subject = ("vethp",)
    sos = True

    def build(self, lab: Lab) -> Vantage:
        host, ctr, gone = lab.netns("host"), lab.netns("ctr"), lab.netns("gone")
        br = host.bridge("br0", addr="10.99.2.1/24")
        lab.veth(host, "vethc", ctr, "eth0", master=br, peer_addr="10.99.2.2/24")
        lab.veth(host, "vethp", gone, "eth0", master=br, peer_addr="10.99.2.3/24", peer_up=False)
        return Vantage(netns=[host.name, ctr.name, gone.name])
