"""Build the collector zipapp, `netsleuth-collect.pyz`: netsleuth.collector (standard library only,
Python >= 3.6) and the evidence catalogue as JSON, runnable by any python3 on a host:
`python3 netsleuth-collect.pyz collect -o host.tar.gz`."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import netsleuth
from netsleuth.collector import catalogue as collector_catalogue

MAIN = """\
import sys
from netsleuth.collector.cli import main
sys.exit(main())
"""
INIT = '"""netsleuth: the collector only (netsleuth-collect.pyz)."""\n__version__ = "{version}"\n'


def build_zipapp(target: Path) -> Path:
    """Write the zipapp to `target` (mode 0755, with a python3 shebang); returns it."""
    from netsleuth.evidence.catalogue import collector_specs

    src = Path(netsleuth.__file__).parent / "collector"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__main__.py", MAIN)
        z.writestr("netsleuth/__init__.py", INIT.format(version=netsleuth.__version__))
        for f in sorted(src.glob("*.py")):
            z.write(f, f"netsleuth/collector/{f.name}")
        z.writestr(
            f"netsleuth/collector/{collector_catalogue.RESOURCE}", collector_catalogue.dump(collector_specs())
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    tmp.write_bytes(b"#!/usr/bin/env python3\n" + buf.getvalue())
    tmp.chmod(0o755)
    tmp.replace(target)
    return target
