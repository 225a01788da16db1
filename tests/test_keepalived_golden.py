"""Adverts captured from Keepalived 2.2.7 (vrrpd.lab.capture): we decode them and
re-encode them to the same bytes, checksum included."""

from __future__ import annotations

import json
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from vrrpd.core.constants import Family
from vrrpd.core.packet import ChecksumForm, decode, encode, password_bytes

DATA = json.loads((Path(__file__).parent / "data" / "keepalived-adverts.json").read_text())
CASES: dict[str, dict[str, Any]] = DATA["adverts"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_keepalived_advert_round_trips_to_the_same_bytes(name: str) -> None:
    case = CASES[name]
    src, dst = ip_address(case["src"]), ip_address(case["dst"])
    family = Family.V4 if src.version == 4 else Family.V6
    wire = bytes.fromhex(case["payload"])
    decoded = decode(wire, family=family, src=src, dst=dst)
    assert decoded.advert.vrid == 51
    assert decoded.advert.priority == case["priority"]
    assert decoded.checksum_form.value == case["checksum"]
    assert encode(decoded.advert, src=src, dst=dst, checksum_form=decoded.checksum_form) == wire


def test_the_captures_cover_what_the_issue_names() -> None:
    assert DATA["keepalived"] == "v2.2.7"
    assert set(CASES) == {"v2", "v2-pass", "v3-ipv4", "v3-ipv6", "v3-ipv4-unicast"}
    v2pass = decode(
        bytes.fromhex(CASES["v2-pass"]["payload"]),
        family=Family.V4,
        src=ip_address("192.0.2.11"),
        dst=ip_address("224.0.0.18"),
    )
    assert v2pass.advert.auth_type == 1
    assert v2pass.advert.auth_data == password_bytes("secret")
    v3 = CASES["v3-ipv4"]
    assert (
        decode(
            bytes.fromhex(v3["payload"]),
            family=Family.V4,
            src=ip_address(v3["src"]),
            dst=ip_address(v3["dst"]),
        ).checksum_form
        is ChecksumForm.PSEUDO
    )
