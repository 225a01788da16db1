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
