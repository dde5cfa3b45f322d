"""The netsleuth collector: what runs on a production host as it is.

Standard library only, and Python 3.6 or later (RHEL 8's platform python, Ubuntu 20.04's 3.8): no
`from __future__ import annotations`, dataclasses, walrus, `X | Y`, tomllib or StrEnum here (vermin
checks it in the tests). It is shipped as a zipapp (`netsleuth collector build` ->
netsleuth-collect.pyz) that `netsleuth fleet collect` copies to each host through Ansible; it is
also what `netsleuth collect` and live diagnosis collect with, so the two cannot drift.

Nothing here imports the rest of netsleuth: the catalogue of what to collect comes in as data (JSON
built from evidence/catalogue.d/*.toml at build time; in-tree, from the TOML directly).
"""
