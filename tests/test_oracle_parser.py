"""The oracle's reading of Keepalived's dump (tests/oracle.py), on dumps Keepalived 2.2.7
wrote for three corpus files (tests/data/keepalived-dumps, captured by the lab harness),
so a parser that reads nothing cannot make the lab comparison pass."""

from __future__ import annotations

from pathlib import Path

from tests.oracle import compare, keepalived_view
from vrrpd.config.loader import loads
from vrrpd.convert import Conversion, convert

DATA = Path(__file__).parent / "data"
DUMPS = DATA / "keepalived-dumps"
CORPUS = DATA / "keepalived-corpus"


def test_the_sync_group_dump_is_read_as_keepalived_applies_it() -> None:
    seen = keepalived_view((DUMPS / "18-sync-group-trackers.data").read_text())
    assert set(seen) == {"GW_IN", "GW_OUT"}
    gw_in = seen["GW_IN"]
    assert (gw_in.vrid, gw_in.version, gw_in.priority, gw_in.interval) == (30, 2, 150, 1.0)
    assert gw_in.vips == {"192.0.2.30/24": ("eth0", None)}
    # the member's weighted chk_gw and grp_file are ignored; the group's chk_up applies
    assert gw_in.scripts == {"chk_up": (30, False)}
    assert gw_in.files == {}
    assert gw_in.interfaces == {"eth2": (0, False)}


def test_the_excluded_addresses_dump_is_read() -> None:
    seen = keepalived_view((DUMPS / "10-excluded-mixed.data").read_text())["ROUTER_21"]
    assert seen.vips == {"169.254.0.21/24": ("eth0", None)}
    assert seen.excluded == {
        "198.51.100.21/24": ("eth1", None),
        "2001:db8:1::21/64": ("eth1", None),
        "fe80::21/64": ("eth2", None),
    }


def test_the_comparison_finds_what_the_old_converter_got_wrong() -> None:
    """Excluded addresses folded into the VIPs (issue 15, item 1) is a difference."""
    seen = keepalived_view((DUMPS / "10-excluded-mixed.data").read_text())
    right = convert(CORPUS / "10-excluded-mixed.conf", "lb1")
    assert compare(seen, right, loads(right.yaml())) == []
    document = right.document
    inst = document["instances"]["ROUTER_21"]
    inst["virtual_addresses"] += inst.pop("excluded_addresses")[:1]
    wrong = Conversion(document, [])
    problems = compare(seen, wrong, loads(wrong.yaml()))
    assert [p.split(":")[0] for p in problems] == ["ROUTER_21.vips", "ROUTER_21.excluded"]


def test_the_commands_keepalived_runs_are_compared() -> None:
    """A converter that joined a script line's words, or ran a notify through a shell,
    differs from what Keepalived execs (its dump of corpus file 44)."""
    seen = keepalived_view((DUMPS / "44-commands-without-shell.data").read_text())
    assert seen["VI_1"].commands == {
        "check chk_words": ("/usr/bin/true",),
        "check chk_quoted": ("/usr/bin/true", "quoted-arg", "&&", "x"),
        "notify master": ("/usr/bin/echo", "192.0.2.44", "&&", "/bin/touch", "/tmp/x"),  # noqa: S108
        "notify backup": ("/usr/bin/echo",),
        "notify any": ("/usr/bin/echo", "generic"),
    }
    right = convert(CORPUS / "44-commands-without-shell.conf", "lb1")
    assert compare(seen, right, loads(right.yaml())) == []
    document = right.document
    document["scripts"]["chk_words"]["command"] = "/bin/true unquoted-arg"  # joined
    document["instances"]["VI_1"]["notify"]["master"] = "/bin/echo 192.0.2.44 && /bin/touch /x"
    wrong = Conversion(document, [])
    problems = compare(seen, wrong, loads(wrong.yaml()))
    assert [p.split(":")[0] for p in problems] == ["VI_1.commands"]
    assert "unquoted-arg" in problems[0]
    assert "/bin/sh', '-c'" in problems[0]
