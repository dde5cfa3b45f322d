"""Result types every layer may import: what probes, captures and traces found (the JSON kept as
evidence `probe.<kind>`, `pcap.summary`, `trace.result`) and the report (`netsleuth.report/v1`)."""
