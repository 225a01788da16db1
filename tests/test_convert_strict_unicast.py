"""`vrrp_strict` with unicast peers, as Keepalived really reads it (issue 15).

Keepalived prints no error for it from 2.2.5 to 2.3.x: vrrp_complete_instance tests
"strict and unicast" before it marks the instance unicast, so the test never holds and
the instance runs in unicast, strict otherwise; 2.2.7 in a namespace dumps "Using
unicast" and "Enforcing strict VRRP compliance" for corpus file 54 (tests/lab/
test_oracle.py). Before 2.2.5 and from 2.4.0 (Keepalived issue 2645) it refuses the file.
The converter's warning said Keepalived refuses the instance and "runs no VRRP at all
with this file", which the live node in front of the operator contradicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrrpd.config.loader import loads
from vrrpd.convert import convert

CORPUS = Path(__file__).parent / "data" / "keepalived-corpus"

UNICAST = (
    "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority 100\n"
    "{strict}    unicast_src_ip 192.0.2.11\n    unicast_peer {{\n        192.0.2.12\n    }}\n"
    "    virtual_ipaddress {{\n        192.0.2.51/24\n    }}\n}}\n"
)


def _convert(
    tmp_path: Path, head: str, strict: str = ""
) -> tuple[Path, list[str], dict[str, object]]:
    path = tmp_path / "keepalived.conf"
    path.write_text(head + UNICAST.format(strict=strict))
    conversion = convert(path)
    assert not conversion.errors
    loads(conversion.yaml(), "converted")
    return path, conversion.warnings, conversion.document["instances"]["VI_1"]


@pytest.mark.parametrize(
    ("head", "strict", "line"),
    [("global_defs {\n    vrrp_strict\n}\n", "", 9), ("", "    strict_mode\n", 7)],
    ids=["vrrp_strict", "strict_mode"],
)
def test_strict_unicast_runs_in_unicast_as_keepalived_2_2_7_does(
    tmp_path: Path, head: str, strict: str, line: int
) -> None:
    path, warnings, instance = _convert(tmp_path, head, strict)
    assert instance["unicast_peers"] == ["192.0.2.12"]
    assert instance["unicast_source"] == "192.0.2.11"
    (said,) = [w for w in warnings if "unicast_peer in strict mode" in w]
    assert said.startswith(f"{path}:{line}: ")  # the unicast_peer line, not the instance's
    assert "Debian 12's 2.2.7 among them) runs VI_1 in unicast all the same" in said
    assert "from 2.4.0 refuses this file" in said
    assert "runs no VRRP at all with this file" not in said


def test_strict_mode_off_on_the_instance_is_plain_unicast(tmp_path: Path) -> None:
    _, warnings, instance = _convert(
        tmp_path, "global_defs {\n    vrrp_strict\n}\n", "    strict_mode off\n"
    )
    assert instance["unicast_peers"] == ["192.0.2.12"]
    assert not any("unicast_peer in strict mode" in w for w in warnings)


def test_corpus_file_54_as_keepalived_dumps_it() -> None:
    """What 2.2.7's dump says for the corpus file (the oracle checks it in the lab):
    both instances unicast, STRICT_UNI without its password and preempt_delay."""
    conversion = convert(CORPUS / "68-strict-unicast.conf", "lb1")
    assert not conversion.errors
    instances = conversion.document["instances"]
    assert instances["STRICT_UNI"]["unicast_peers"] == ["192.0.2.2"]
    assert instances["STRICT_UNI6"]["unicast_peers"] == ["2001:db8:1::2"]
    assert "authentication" not in instances["STRICT_UNI"]
    assert "preempt_delay" not in instances["STRICT_UNI"]
