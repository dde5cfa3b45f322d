"""Run a command bounded in time. Every part of netsleuth that runs a command comes through here:
the command leads its own process group, and when it overstays its timeout the whole group is
killed (a hung `ovs-ofctl` is evidence, never a hang of netsleuth). At most `max_out` bytes of
stdout are kept; the rest is read and dropped.

The runner itself lives in the collector (netsleuth.collector.process, standard library only), so
that what runs on production hosts and what runs here are one and the same."""

from netsleuth.collector.process import MAX_ERR, MAX_OUT, Ran, kill_group, run

__all__ = ["MAX_ERR", "MAX_OUT", "Ran", "kill_group", "run"]
