"""Run netsleuth on other hosts through Ansible: `fleet collect` (one bundle per host) and `fleet
probe` (the mesh probe). What runs on the hosts is the stdlib-only collector (netsleuth.collector),
shipped as a zipapp by the role under playbooks/ (the repository's ansible/)."""
