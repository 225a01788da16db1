"""Config validation: every problem at once, each with its dotted key path."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from tests.builders import config, instance
from vrrpd.core.config import (
    Authentication,
    CheckConfig,
    GarpConfig,
    SyncGroupConfig,
    TrackScript,
    validate,
)


def problems(cfg: object) -> list[str]:
    return [str(p) for p in validate(cfg)]  # type: ignore[arg-type]


def test_a_good_config_has_no_problems() -> None:
    assert problems(config(instance())) == []


@pytest.mark.parametrize(
    ("inst", "expected"),
    [
        (instance(vrid=256), "instances.web.vrid: must be 1..255 (got 256)"),
        (instance(priority=0), "instances.web.priority: must be 1..255 (got 0)"),
        (instance(version=4), "instances.web.version: must be 2 or 3 (got 4)"),
        (
            instance(version=2, advert_interval=0.5),
            "instances.web.advert_interval: VRRPv2 needs whole seconds 1..255 (got 0.5)",
        ),
        (
            instance(advert_interval=0.005),
            "instances.web.advert_interval: VRRPv3 needs 0.01..40.95 s in 0.01 s steps (got 0.005)",
        ),
        (
            instance(advert_interval=41),
            "instances.web.advert_interval: VRRPv3 needs 0.01..40.95 s in 0.01 s steps (got 41)",
        ),
        (instance(preempt_delay=-1), "instances.web.preempt_delay: must be >= 0 (got -1)"),
        (instance(vips=()), "instances.web.virtual_addresses: needs at least one address"),
        (
            instance(vips=("192.0.2.1/24", "2001:db8::1/64")),
            "instances.web.virtual_addresses: all addresses must be of one family",
        ),
        (
            instance(version=2, vips=("2001:db8::1/64",)),
            "instances.web.version: IPv6 requires version 3",
        ),
        (
            instance(unicast_peers=(ip_address("2001:db8::2"),)),
            "instances.web.unicast_peers: 2001:db8::2 is not IPv4 like the VIPs",
        ),
        (
            instance(unicast_source=ip_address("2001:db8::2")),
            "instances.web.unicast_source: 2001:db8::2 is not IPv4",
        ),
        (
            instance(authentication=Authentication("pass", "x")),
            "instances.web.authentication: authentication exists only in VRRPv2",
        ),
        (
            instance(version=2, authentication=Authentication("ah", "x")),
            "instances.web.authentication.type: only pass (Keepalived's PASS) is supported (got 'ah')",
        ),
        (
            instance(version=2, authentication=Authentication("pass", "")),
            "instances.web.authentication.password: must not be empty",
        ),
        (
            instance(track_scripts=(TrackScript("nope"),)),
            "instances.web.track_scripts: no script named 'nope'",
        ),
        (instance(garp=GarpConfig(repeat=0)), "instances.web.garp.repeat: must be >= 1 (got 0)"),
        (instance(garp=GarpConfig(delay=-1)), "instances.web.garp: delay and refresh must be >= 0"),
    ],
)
def test_instance_problems(inst: object, expected: str) -> None:
    assert expected in problems(config(inst))  # type: ignore[arg-type]


def test_track_weight_range() -> None:
    check = CheckConfig("chk", "true")
    cfg = config(instance(track_scripts=(TrackScript("chk", 300),)), scripts=(check,))
    assert problems(cfg) == ["instances.web.track_scripts[0]: weight must be -254..254 (got 300)"]


def test_check_problems() -> None:
    bad = CheckConfig("chk", " ", interval=0, timeout=-1, weight=255, rise=0, fall=0)
    assert problems(config(instance(), scripts=(bad,))) == [
        "scripts.chk.interval: must be > 0 (got 0)",
        "scripts.chk.timeout: must be > 0 (got -1)",
        "scripts.chk.weight: must be -254..254 (got 255)",
        "scripts.chk.rise: must be >= 1 (got 0)",
        "scripts.chk.fall: must be >= 1 (got 0)",
        "scripts.chk.command: must not be empty",
    ]


def test_check_timeout_defaults_to_interval() -> None:
    assert CheckConfig("c", "true", interval=3).effective_timeout == 3
    assert CheckConfig("c", "true", interval=3, timeout=1).effective_timeout == 1


def test_vrid_reuse_on_one_interface_and_family_is_an_error_but_not_across() -> None:
    same = config(instance("a"), instance("b"))
    assert problems(same) == ["instances.b.vrid: VRID 51 on eth0 IPv4 is already used by a"]
    other_family = config(instance("a"), instance("b", vips=("2001:db8::1/64",)))
    other_iface = config(instance("a"), instance("b", interface="eth1"))
    assert problems(other_family) == problems(other_iface) == []


def test_a_member_in_two_groups() -> None:
    groups = (SyncGroupConfig("g1", ("web",)), SyncGroupConfig("g2", ("web",)))
    assert problems(config(instance(), groups=groups)) == [
        "sync_groups.g2.instances: web is already in sync group g1"
    ]


def test_every_problem_at_once() -> None:
    assert len(problems(config(instance(vrid=0, priority=0, version=5)))) == 3


def test_more_addresses_than_an_advert_carries_are_refused() -> None:
    """Review defect 7: 256 VIPs passed and the agent crashed packing its first advert."""
    many = tuple(
        f"192.0.2.{i % 256}/24" if i < 256 else f"198.51.100.{i - 256}/24" for i in range(256)
    )
    problems = [str(p) for p in validate(config(instance(vips=many)))]
    assert (
        "instances.web.virtual_addresses: at most 255 addresses fit in an advert (got 256)"
        in problems
    )
    assert validate(config(instance(vips=many[:255]))) == []


def test_ipv6_addresses_must_fit_the_minimum_mtu() -> None:
    vips = tuple(f"2001:db8::{i:x}/64" for i in range(1, 79))
    problems = [str(p) for p in validate(config(instance(vips=vips)))]
    assert problems == [
        "instances.web.virtual_addresses: 78 IPv6 addresses make a 1296-byte advert, over the "
        "1280-byte minimum MTU; at most 77 fit (split them over instances)"
    ]
    assert validate(config(instance(vips=vips[:77]))) == []


def test_accept_false_is_refused_rather_than_ignored() -> None:
    """Review defect 5: accept was parsed and documented but did nothing."""
    problems = [str(p) for p in validate(config(instance(accept=False)))]
    assert len(problems) == 1
    assert problems[0].startswith("instances.web.accept: accept: false")


def test_what_check_config_used_to_pass() -> None:
    """Issue 7 point 8: each of these passed check-config with exit 0."""
    from vrrpd.core.config import TrackFile, TrackInterface, TrackProcess

    cfg = config(
        instance(
            track_files=(TrackFile("/run/prio", weight=9999),),
            track_interfaces=(TrackInterface("eth1", weight=700), TrackInterface("eth1")),
            track_processes=(TrackProcess("haproxy", quorum=0),),
        )
    )
    assert problems(cfg) == [
        "instances.web.track_interfaces[0]: weight must be -254..254 (got 700)",
        "instances.web.track_interfaces[1]: eth1 is tracked twice; keep one entry",
        "instances.web.track_files[0]: weight must be -254..254 (got 9999)",
        "instances.web.track_processes[0]: quorum must be >= 1 (got 0: it could never be down)",
    ]


def test_a_misspelt_check_gets_did_you_mean() -> None:
    cfg = config(
        instance(track_scripts=(TrackScript("chk_ngnix"),)),
        scripts=(CheckConfig("chk_nginx", "true"),),
    )
    assert problems(cfg) == [
        "instances.web.track_scripts: no script named 'chk_ngnix'; did you mean 'chk_nginx'?"
    ]


def test_keepalived_spellings_and_long_passwords_are_accepted_with_a_word() -> None:
    """Issue 7 point 7: PASS was refused; a 9-to-17 character password was refused where
    Keepalived uses its first 8 characters."""
    from vrrpd.core.config import warnings

    cfg = config(instance(version=2, authentication=Authentication("PASS", "longsecret12")))
    assert problems(cfg) == []
    assert [str(w) for w in warnings(cfg)] == [
        "instances.web.authentication.password: only the first 8 bytes are sent and compared "
        "('longsecr'), as Keepalived does"
    ]
    lazy = config(instance(preempt=False, preempt_delay=5.0))
    assert [str(w) for w in warnings(lazy)] == [
        "instances.web.preempt_delay: has no effect with preempt: false (this node never "
        "preempts); remove one"
    ]
