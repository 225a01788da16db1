"""Small config builders shared by the tests."""

from __future__ import annotations

from ipaddress import ip_address, ip_interface

from vrrpd.core.config import (
    CheckConfig,
    Config,
    InstanceConfig,
    SyncGroupConfig,
    TrackScript,
    VirtualAddress,
)


def instance(
    name: str = "web",
    *,
    vrid: int = 51,
    priority: int = 100,
    vips: tuple[str, ...] = ("192.0.2.100/24",),
    **kwargs: object,
) -> InstanceConfig:
    return InstanceConfig(
        name=name,
        interface=str(kwargs.pop("interface", "eth0")),
        vrid=vrid,
        priority=priority,
        virtual_addresses=tuple(VirtualAddress(ip_interface(v)) for v in vips),
        **kwargs,  # type: ignore[arg-type]
    )


def config(
    *instances: InstanceConfig,
    scripts: tuple[CheckConfig, ...] = (),
    groups: tuple[SyncGroupConfig, ...] = (),
) -> Config:
    return Config(scripts=scripts, instances=instances, sync_groups=groups)


def checked(
    priority: int,
    *,
    weight: int = -50,
    rise: int = 1,
    fall: int = 1,
    check_interval: float = 1.0,
    **kwargs: object,
) -> Config:
    """One instance tracking one check ``chk``."""
    check = CheckConfig(
        "chk", "/bin/true", interval=check_interval, weight=weight, rise=rise, fall=fall
    )
    return config(
        instance(priority=priority, track_scripts=(TrackScript("chk"),), **kwargs), scripts=(check,)
    )


A = ip_address
