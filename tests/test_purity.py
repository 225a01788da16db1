"""ARCHITECTURE.md rule 1: the core imports nothing that does I/O, time or randomness."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import vrrpd.core

FORBIDDEN = (
    "socket",
    "asyncio",
    "subprocess",
    "select",
    "selectors",
    "threading",
    "random",
    "yaml",
    "pyroute2",
)


def test_core_imports_only_pure_modules_in_a_fresh_interpreter() -> None:
    modules = [f"vrrpd.core.{m.name}" for m in pkgutil.iter_modules(vrrpd.core.__path__)]
    assert "vrrpd.core.node" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    loaded = set(json.loads(out.stdout))
    assert not loaded & set(FORBIDDEN), f"the core pulled in {sorted(loaded & set(FORBIDDEN))}"


def test_ruff_bans_io_modules_inside_the_core() -> None:
    config = (Path(vrrpd.core.__file__).parent / "ruff.toml").read_text()
    for name in ("socket", "asyncio", "subprocess", "time", "random", "os"):
        assert f'"{name}".msg' in config
