"""The knowledge base: one rule per fault id of the catalogue. Importing this package registers them."""

from netsleuth.rules import conntrack, mtu, nic, ovs

__all__ = ["conntrack", "mtu", "nic", "ovs"]
