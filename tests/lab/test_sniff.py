"""`vrrpd sniff` on a real wire, inside a namespace, as an operator runs it."""

from __future__ import annotations

import json

import pytest

from tests.lab.helpers import sole_holder, start
from vrrpd.lab import Lab
from vrrpd.lab.peers import Peer, vrrpd_binary

pytestmark = pytest.mark.netns


def test_sniff_shows_the_adverts_and_names_the_master(lab: Lab) -> None:
    start(lab, Peer("n1", 150))
    start(lab, Peer("n2", 100))
    sole_holder(lab, "192.0.2.100", "n1")
    done = lab.exec("cl", vrrpd_binary(), "sniff", "eth0", "--summary", "1.5", "--json", timeout=20)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    adverts = [r for r in records if r.get("kind") == "advert"]
    assert len(adverts) >= 10  # every 0.1 s for 1.5 s
    assert {(r["src"], r["vrid"], r["priority"]) for r in adverts} == {("192.0.2.11", 51, 150)}
    summary = [r["summary"] for r in records if "summary" in r]
    assert summary == ["VRID 51: master 192.0.2.11; heard from 192.0.2.11"]
