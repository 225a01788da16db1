"""What ``vrrpd run`` keeps resident (issue 17: RSS <= 40 MB with 200 instances).

Each module imported stays in memory for the agent's life, so the run path's imports
are checked in a fresh interpreter: the families of pyroute2 the agent never speaks
(NDB with sqlite3, IPDB, nftables, ...) must not be loaded, and pyroute2 must still
work in full for whoever asks for more (the lab, the tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _modules_after(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_the_netlink_adapter_loads_only_pyroute2s_rtnetlink() -> None:
    loaded = _modules_after("import vrrpd.adapters.netlink")
    assert "pyroute2.iproute.linux" in loaded
    unwanted = ("pyroute2.ndb", "pyroute2.ipdb", "pyroute2.nftables", "sqlite3", "pyroute2.ipset")
    assert [m for m in loaded if m.startswith(unwanted)] == []


def test_pyroute2_in_full_after_the_adapter() -> None:
    code = (
        "import vrrpd.adapters.netlink\n"
        "from pyroute2 import IPRoute, NDB\n"
        "import pyroute2, pyroute2.iproute, logging\n"
        "assert pyroute2.IPRoute is IPRoute is pyroute2.iproute.IPRoute\n"
        "assert pyroute2.AsyncIPRoute is vrrpd.adapters.netlink.AsyncIPRoute\n"
        "assert len(pyroute2.modules) > 50\n"
        "assert logging.getLogger('pyroute2').handlers\n"
    )
    assert "pyroute2.ndb.main" in _modules_after(code)


_INSTANCE = """  i{v}:
    interface: eth0
    vrid: {v}
    priority: 150
    advert_interval: 0.1
    virtual_addresses: [198.51.100.{v}/24]
"""


def _config_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "vrrpd.yaml"
    body = "".join(_INSTANCE.format(v=v) for v in range(1, count + 1))
    path.write_text(f"global:\n  router_id: n1\ninstances:\n{body}")
    return path


def test_run_parses_the_file_apart_and_gets_the_same_config(tmp_path: Path) -> None:
    from vrrpd.cli import EXIT_CONFIG, _load_apart
    from vrrpd.config.loader import load

    path = _config_file(tmp_path, 3)
    assert _load_apart(str(path), EXIT_CONFIG) == load(path)


def test_run_refuses_an_invalid_file_with_its_errors(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from vrrpd.cli import EXIT_CONFIG, _load_apart

    path = tmp_path / "bad.yaml"
    path.write_text("instances:\n  web: {interface: eth0, vrid: 300}\n")
    with pytest.raises(SystemExit) as leaving:
        _load_apart(str(path), EXIT_CONFIG)
    assert leaving.value.code == EXIT_CONFIG
    assert "vrid" in capfd.readouterr().err


def test_the_parse_of_200_instances_leaves_no_arenas_behind(tmp_path: Path) -> None:
    """In one process the parse's garbage kept ~4 MB resident; apart, ~0.4 MB."""
    path = _config_file(tmp_path, 200)
    code = (
        "import gc, sys\n"
        "from vrrpd.cli import _load_apart\n"
        "import vrrpd.driver.agent\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "gc.collect()\n"
        "before = rss()\n"
        f"config = _load_apart({str(path)!r}, 2)\n"
        "assert len(config.instances) == 200\n"
        "print(rss() - before)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(done.stdout.split()[-1]) < 1.5


def test_the_run_path_loads_neither_psutil_nor_a_tracker_it_does_not_use() -> None:
    """psutil counts tracked processes only (1.5 MB resident): not loaded for others."""
    loaded = _modules_after("import vrrpd.cli, vrrpd.logsetup, vrrpd.driver.agent")
    assert "psutil" not in loaded


def test_the_run_path_loads_no_openssl() -> None:
    """libssl (asyncio's TLS, which the agent does not speak) and libcrypto (``hmac``, for
    VRRPv2 passwords only): 5.8 MB resident together, measured in one process."""
    loaded = _modules_after(
        "from vrrpd import lazy\n"
        "lazy.asyncio_without_tls()\n"
        "import vrrpd.cli, vrrpd.logsetup, vrrpd.driver.agent, vrrpd.adapters.http\n"
    )
    assert "_ssl" not in loaded
    assert "_hashlib" not in loaded


def test_tls_and_pyroute2_still_work_when_asked() -> None:
    code = (
        "from vrrpd import lazy\n"
        "lazy.asyncio_without_tls()\n"
        "import vrrpd.driver.agent\n"
        "import ssl\n"
        "ssl.create_default_context()\n"
        "from pyroute2.netlink.rtnl.probe_msg import probe_ssl\n"
    )
    assert "_ssl" in _modules_after(code)


def test_the_agent_imports_the_config_loader_for_a_reload_only() -> None:
    """``vrrpd run`` parses the file in a child: the loader and PyYAML (2.4 MB resident)
    are not the agent's until a reload asks for them."""
    loaded = _modules_after("import vrrpd.cli, vrrpd.logsetup, vrrpd.driver.agent")
    assert "yaml" not in loaded
    assert "vrrpd.config.loader" not in loaded


def test_without_a_process_to_spare_the_file_is_parsed_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from vrrpd.cli import EXIT_CONFIG, _load_apart
    from vrrpd.config.loader import load

    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    path = _config_file(tmp_path, 2)
    assert _load_apart(str(path), EXIT_CONFIG) == load(path)
