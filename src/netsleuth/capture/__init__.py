"""Packet captures: stream pcap/pcapng files into a summary (`netsleuth pcap`), capture at several
points at once with AF_PACKET sockets (`netsleuth trace`), and write what each point saw as pcapng."""
