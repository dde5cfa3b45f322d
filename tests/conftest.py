"""Shared pytest set-up: root/tool detection for integration tests."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0 and shutil.which("ip"):
        return
    skip = pytest.mark.skip(reason="needs root and iproute2 (network namespaces)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)
