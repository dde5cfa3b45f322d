"""The role under ansible/ on its own, as an operator calls it from a playbook of theirs (plain
`ansible-playbook`, no netsleuth, no ansible-runner): it copies the collector, runs it, fetches the
bundle and removes what it copied. The host is this machine over Ansible's local connection and the
collector a stand-in that only writes its bundle file (the real collector is run over SSH by the
fleet lab's integration tests)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipapp
from pathlib import Path

import pytest

ROLE_PLAYBOOK = Path(__file__).resolve().parents[2] / "ansible" / "collect.yml"
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


@pytest.mark.skipif(not PLAYBOOK.exists(), reason="needs the fleet extra (ansible-core)")
def test_the_standalone_role_fetches_a_private_bundle_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "stand-in"
    src.mkdir()
    (src / "__main__.py").write_text(
        "import sys\nargv = sys.argv[1:]\nopen(argv[argv.index('-o') + 1], 'wb').write(b'a bundle')\n"
    )
    collector = tmp_path / "netsleuth-collect.pyz"
    zipapp.create_archive(src, collector)
    inv = tmp_path / "hosts.ini"
    inv.write_text(f"[all]\nhv1 ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    remote_tmp, dest = tmp_path / "remote-tmp", tmp_path / "bundles"
    env = {
        **os.environ,
        "ANSIBLE_REMOTE_TEMP": str(remote_tmp),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": os.pathsep.join([str(PLAYBOOK.parent), os.environ.get("PATH", "")]),
    }
    argv = [str(PLAYBOOK), "-i", str(inv), str(ROLE_PLAYBOOK)]
    argv += ["-e", f"netsleuth_collector={collector}", "-e", f"netsleuth_dest={dest}"]
    argv += ["-e", f"netsleuth_python={sys.executable}"]
    p = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stdout[-1500:] + p.stderr[-800:]
    bundle = dest / "hv1.tar.gz"
    assert bundle.read_bytes() == b"a bundle"
    # addresses, process lists: private like `netsleuth collect`'s, not left to the umask (was 0644)
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert not list(remote_tmp.glob("*")), "the copied collector was left on the host"
