"""Active probes: the checks engineers ran by hand (ping -M do -s, nc -u, nslookup per server,
arping, DHCP DISCOVER, repeated HTTP), run safely: only toward targets the user names or the host's
own configuration names, rate-limited and bounded in time. Each result is stored as evidence
`probe.<kind>` (see results/probes.py) so that rules stay pure."""
