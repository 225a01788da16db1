"""The configuration as frozen dataclasses: what the core runs on.

Pure and standard-library only, because the core takes these as its input. Each
field's docstring gives its unit, default and range; the operator reference is
generated from them. ``validate`` returns every problem at once, each with the
dotted path of the offending key, so the YAML loader can attach ``FILE:LINE:COL``.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

from vrrpd.core.constants import (
    ADDRESS_COUNT_MAX,
    CENTISECONDS,
    IPV6_HEADER_LEN,
    IPV6_MIN_MTU,
    PRIORITY_OWNER,
    V2_AUTH_LEN,
    V2_INTERVAL_MAX_S,
    V3_HEADER_LEN,
    V3_INTERVAL_MAX_CS,
    VRID_MAX,
    VRID_MIN,
    Family,
    IPAddress,
    family_of,
)


class ChecksumMode(enum.Enum):
    """The VRRPv3-over-IPv4 checksum form an instance sends and accepts."""

    PSEUDO = "pseudo"
    """Send and accept only the pseudo-header form (Keepalived, FRR, Wireshark)."""
    MESSAGE = "message"
    """Send and accept only the message-only form (RFC 9568, Cisco, Juniper)."""
    AUTO = "auto"
    """Send the pseudo-header form, accept either, and report which form each peer uses."""


class Announce(enum.Enum):
    """How the network learns which node holds the VIPs."""

    ARP = "arp"
    """Gratuitous ARP / unsolicited NA on the segment (one L2 domain)."""
    BGP = "bgp"
    """The VIPs go on ``announce_device`` as host routes; FRR announces them (routed fabrics)."""


class Election(enum.Enum):
    """Who holds the VIPs."""

    VRRP = "vrrp"
    """The VRRP election: one master."""
    NONE = "none"
    """Anycast: every node whose checks pass holds them; no adverts sent or heard."""


@dataclass(frozen=True)
class CheckConfig:
    """A health check script (Keepalived's ``vrrp_script``)."""

    name: str
    command: str
    """Run as argv; through ``/bin/sh -c`` only if it uses shell syntax."""
    interval: float = 1.0
    """Seconds between the starts of two runs; > 0."""
    timeout: float | None = None
    """Seconds before a run is killed and counted as failed; default: the interval."""
    weight: int = 0
    """-254..254. Positive: added while up. Negative: added while down. 0: FAULT while down."""
    rise: int = 1
    """Consecutive successes to count as up; >= 1."""
    fall: int = 1
    """Consecutive failures to count as down; >= 1."""
    user: str | None = None
    """User the script runs as; default ``global.script_user``."""

    @property
    def effective_timeout(self) -> float:
        return self.interval if self.timeout is None else self.timeout


@dataclass(frozen=True)
class TrackScript:
    """An instance's use of a check; ``weight`` overrides the check's own."""

    name: str
    weight: int | None = None
    reverse: bool = False
    """Keepalived's ``weight W reverse``: the contribution negated (a weight 10 check
    takes 10 off while it succeeds; a file's value times the weight is subtracted)."""


@dataclass(frozen=True)
class TrackInterface:
    """A link whose loss counts against the instance: FAULT, or ``weight`` when given."""

    name: str
    weight: int | None = None
    reverse: bool = False
    """Keepalived's ``weight W reverse``: the contribution negated (a weight 10 check
    takes 10 off while it succeeds; a file's value times the weight is subtracted)."""


@dataclass(frozen=True)
class TrackFile:
    """A file holding an integer, multiplied by ``weight`` (Keepalived's track_file)."""

    path: str
    weight: int = 1
    reverse: bool = False
    """Keepalived's ``weight W reverse``: the contribution negated (a weight 10 check
    takes 10 off while it succeeds; a file's value times the weight is subtracted)."""


@dataclass(frozen=True)
class TrackProcess:
    """A process (by name or command line) that must run; FAULT, or ``weight`` when absent."""

    name: str
    weight: int | None = None
    reverse: bool = False
    """Keepalived's ``weight W reverse``: the contribution negated (a weight 10 check
    takes 10 off while it succeeds; a file's value times the weight is subtracted)."""
    quorum: int = 1
    user: str | None = None
    """Count only processes whose real uid is this user's: a name (looked up once, when
    the file is loaded; unknown is an error) or a uid. Default: every user's, as
    Keepalived does, so any local user can start a process of that name and keep the
    tracker up after the service died; name the service's user (``root`` for a daemon
    whose master runs as root) where local users are not trusted."""

    @property
    def key(self) -> str:
        """What the poller counts and the instance follows: two instances may track one
        name for different users."""
        return self.name if self.user is None else f"{self.name} [user {self.user}]"


@dataclass(frozen=True)
class Authentication:
    """VRRPv2 authentication; only ``pass`` (Keepalived's PASS, 8 bytes of cleartext)."""

    type: str = "pass"
    password: str = ""


@dataclass(frozen=True)
class VirtualAddress:
    """A virtual IP, with its prefix, optionally on another device or with a label."""

    address: IPv4Interface | IPv6Interface
    dev: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class GarpConfig:
    """Gratuitous ARP / unsolicited NA after becoming master (Keepalived's garp_master_*)."""

    delay: float = 5.0
    """Seconds after becoming master before the second burst; 0 = no second burst."""
    repeat: int = 5
    """Announcements per address in each burst; >= 1."""
    refresh: float = 0.0
    """Seconds between periodic re-announcements while master; 0 = off."""


@dataclass(frozen=True)
class NotifyConfig:
    """Commands run on state changes; ``any`` gets Keepalived's arguments too."""

    master: str | None = None
    backup: str | None = None
    fault: str | None = None
    stop: str | None = None
    any: str | None = None

    def hooks(self, word: str) -> list[tuple[str, bool]]:
        """The commands for a state word (MASTER, BACKUP, FAULT, STOP), in the order they run,
        each with whether it gets Keepalived's arguments (only the generic ``any`` hook)."""
        specific = {
            "MASTER": self.master,
            "BACKUP": self.backup,
            "FAULT": self.fault,
            "STOP": self.stop,
        }[word]
        return [
            (command, generic)
            for command, generic in ((specific, False), (self.any, True))
            if command
        ]

    def configured(self) -> list[tuple[str, str]]:
        """(key, command) of every hook that is set."""
        return [
            (key, command)
            for key in ("master", "backup", "fault", "stop", "any")
            if (command := getattr(self, key))
        ]


@dataclass(frozen=True)
class InstanceConfig:
    """One virtual router: a VRID on an interface, for one address family."""

    name: str
    interface: str
    """The interface the adverts are sent and received on."""
    vrid: int
    """1..255."""
    priority: int = 100
    """1..255; 255 = the address owner."""
    version: int = 3
    """2 or 3; IPv6 requires 3."""
    advert_interval: float = 1.0
    """Seconds. v3: 0.01..40.95 in centisecond steps; v2: whole seconds 1..255."""
    preempt: bool = True
    """A higher-priority backup takes over from a lower-priority master."""
    preempt_delay: float = 0.0
    """Seconds a higher-priority backup lets a lower-priority master keep running."""
    fast_preempt: bool = True
    """Preempt a master that advertises a lower priority than ours after Skew_Time, not
    Master_Down_Interval (a failed check there moves the VIP in ms, not seconds; wire
    compatible with any RFC peer); false: RFC 5798's timer."""
    accept: bool = True
    """Accept traffic to the VIPs while master (RFC off by default; on for server HA)."""
    virtual_addresses: tuple[VirtualAddress, ...] = ()
    """The VIPs, all of one family (which picks IPv4 or IPv6), as ``192.0.2.10/24`` or mappings."""
    excluded_addresses: tuple[VirtualAddress, ...] = ()
    """Addresses the master holds but does not advertise (Keepalived's
    ``virtual_ipaddress_excluded``): either family, no limit on their number, added and
    removed with the VIPs. Peers never compare them, so they can differ between nodes
    without splitting the cluster. Default none."""
    unicast_peers: tuple[IPAddress, ...] = ()
    """Non-empty: send to these peers instead of multicast, and accept only them."""
    unicast_source: IPAddress | None = None
    """Source address of adverts; default the interface's primary (v4) or link-local (v6)."""
    unicast_max_hops: int = 0
    """Router hops (0..254, default 0) an advert may have crossed: accepted with TTL / hop
    limit >= 255 - N, like GTSM (RFC 5082), for unicast peers in other subnets (needs
    ``unicast_peers``). 0 keeps RFC 5798's TTL 255, which no off-link sender can forge."""
    announce: Announce = Announce.ARP
    """arp (default): GARP / NA on the segment. bgp: while MASTER the VIPs are host routes
    (/32, /128) on ``announce_device`` and FRR announces them; no GARP / NA (docs/bgp.md)."""
    election: Election = Election.VRRP
    """vrrp (default) or none: anycast (needs ``announce: bgp``), every node whose checks
    pass holds and announces the VIPs; no adverts; a failing check (weight 0) withdraws."""
    announce_device: str = "lo"
    """announce: bgp only: the device the VIPs go on while MASTER; default lo."""
    announce_hold: float = 0.3
    """announce: bgp only: seconds a master that hands over (maintenance, a better backup,
    a graceful stop) keeps its route after the new master is heard, so the new route
    reaches the routers before ours is withdrawn; 0..10, default 0.3."""
    announce_grace: float = 0.5
    """announce: bgp only: seconds a node keeps answering for the VIPs after withdrawing
    them (a local route zebra does not import), while the fabric converges; 0..10,
    default 0.5."""
    authentication: Authentication | None = None
    """VRRPv2 only: ``{type: pass, password: ...}`` as Keepalived's ``auth_type PASS``."""
    use_vmac: bool = False
    """Put the VIPs on a macvlan with the virtual MAC 00-00-5E-00-0{1,2}-{VRID}."""
    track_scripts: tuple[TrackScript, ...] = ()
    """Checks (from ``scripts:``) that move this instance's priority; see docs/checks.md."""
    track_interfaces: tuple[TrackInterface, ...] = ()
    """Interfaces whose loss means FAULT, or adds a weight."""
    track_files: tuple[TrackFile, ...] = ()
    """Files whose integer, times a weight, is added to the priority."""
    track_processes: tuple[TrackProcess, ...] = ()
    """Processes that must run (FAULT, or a weight, when fewer than ``quorum`` do)."""
    garp: GarpConfig = field(default_factory=GarpConfig)
    """Gratuitous ARP / unsolicited NA after becoming master."""
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    """Commands run on state changes."""
    v3_ipv4_checksum: ChecksumMode = ChecksumMode.PSEUDO
    """VRRPv3 over IPv4 checksum form: pseudo (default), message, or auto (see below)."""

    @property
    def family(self) -> Family:
        if self.virtual_addresses:
            return family_of(self.virtual_addresses[0].address.ip)
        return Family.V4

    @property
    def held_addresses(self) -> tuple[VirtualAddress, ...]:
        """What a master configures: the advertised VIPs, then the excluded ones."""
        return self.virtual_addresses + self.excluded_addresses

    @property
    def interval_cs(self) -> int:
        return round(self.advert_interval * CENTISECONDS)

    @property
    def owner(self) -> bool:
        return self.priority == PRIORITY_OWNER

    @property
    def vmac_device(self) -> str | None:
        """The macvlan carrying the VIPs with ``use_vmac`` (``vrrp.51``, ``vrrp6.51``)."""
        if not self.use_vmac:
            return None
        return f"vrrp{'6' if self.family is Family.V6 else ''}.{self.vrid}"

    @property
    def device(self) -> str:
        """Where the VIPs go unless one names its own ``dev``."""
        if self.announce is Announce.BGP:
            return self.announce_device
        return self.vmac_device or self.interface


@dataclass(frozen=True)
class SyncGroupConfig:
    """Instances that are all MASTER or none."""

    name: str
    instances: tuple[str, ...]
    """Instance names; all become MASTER together, and FAULT in one is FAULT in all."""
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    """Hooks run when the group as a whole changes state."""


LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class GlobalConfig:
    router_id: str | None = None
    """Default: the host name."""
    control_socket: str = "/run/vrrpd/vrrpd.sock"
    """Unix socket (mode 0600) where ``vrrpd status`` and ``vrrpd reload`` reach the agent."""
    control_group: str | None = None
    """A group whose members may read ``status`` (the socket becomes 0660); changes stay root's."""
    metrics_listen: str | None = None
    """HOST:PORT (or [IPv6]:PORT) serving Prometheus metrics at /metrics; off when absent."""
    script_user: str = "nobody"
    """User that check and notify scripts run as, unless a check names its own."""
    script_security: bool = True
    """Refuse scripts that are, or sit in a directory, writable by a non-root user."""
    state_file: str = "/run/vrrpd/state.json"
    """Where the agent records the VIPs it added, to remove them after a crash."""
    log_level: str = "info"
    """debug, info, warning or error; a reload applies a change (``--log-level`` overrides)."""


@dataclass(frozen=True)
class Config:
    global_: GlobalConfig = field(default_factory=GlobalConfig)
    scripts: tuple[CheckConfig, ...] = ()
    instances: tuple[InstanceConfig, ...] = ()
    sync_groups: tuple[SyncGroupConfig, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One validation error: ``path`` is the dotted key (``instances.web.priority``)."""

    path: str
    message: str
    refers: str = ""
    """The path of the block a cross-reference points at (``scripts.chk``), if any."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate(config: Config) -> list[Problem]:
    """Every problem of ``config`` at once, in document order."""
    problems: list[Problem] = []
    scripts = {s.name: s for s in config.scripts}
    for check in config.scripts:
        problems += _check_problems(check)
    seen: dict[tuple[str, Family, int], str] = {}
    listen = config.global_.metrics_listen
    if listen is not None:
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            problems.append(
                Problem(
                    "global.metrics_listen",
                    f"must be HOST:PORT, like 127.0.0.1:9650 (got {listen!r})",
                )
            )
    if config.global_.log_level not in LOG_LEVELS:
        problems.append(
            Problem(
                "global.log_level",
                f"must be one of {', '.join(LOG_LEVELS)} (got {config.global_.log_level!r})",
            )
        )
    for inst in config.instances:
        problems += _instance_problems(inst, scripts)
        key = (inst.interface, inst.family, inst.vrid)
        if key in seen:
            problems.append(
                Problem(
                    f"instances.{inst.name}.vrid",
                    f"VRID {inst.vrid} on {inst.interface} IP{inst.family} is already used by {seen[key]}",
                )
            )
        else:
            seen[key] = inst.name
    problems += _shared_vip_problems(config)
    names = {i.name for i in config.instances}
    grouped: dict[str, str] = {}
    for group in config.sync_groups:
        for member in group.instances:
            path = f"sync_groups.{group.name}.instances"
            if member not in names:
                problems.append(
                    Problem(path, f"no instance named {member!r}", f"instances.{member}")
                )
            elif member in grouped:
                problems.append(
                    Problem(path, f"{member} is already in sync group {grouped[member]}")
                )
            else:
                grouped[member] = group.name
    return problems


def _shared_vip_problems(config: Config, *, routed: bool = True) -> list[Problem]:
    """One address on one device belongs to one instance: the driver owns a VIP by
    (device, address), so the instance that leaves MASTER removes it (with
    ``announce: bgp``, withdraws its route) while the other is still MASTER.
    ``routed``: the pairs where either is ``announce: bgp`` (an error); else the
    others (a warning: configurations of earlier versions keep loading)."""
    out = []
    holder: dict[tuple[str, IPAddress], InstanceConfig] = {}
    for inst in config.instances:
        for key in ("virtual_addresses", "excluded_addresses"):
            for index, vip in enumerate(getattr(inst, key)):
                where = (vip.dev or inst.device, vip.address.ip)
                first = holder.setdefault(where, inst)
                bgp = Announce.BGP in (first.announce, inst.announce)
                if first.name != inst.name and bgp is routed:
                    other = first.name
                    out.append(
                        Problem(
                            f"instances.{inst.name}.{key}[{index}]",
                            f"{vip.address.ip} on {where[0]} is also held by instance {other}; "
                            "one instance per address and device",
                        )
                    )
    return out


def warnings(config: Config) -> list[Problem]:
    """What is legal but cannot do what it seems to: said by check-config and at start."""
    out = _shared_vip_problems(config, routed=False)
    for inst in config.instances:
        path = f"instances.{inst.name}"
        auth = inst.authentication
        if auth is not None and len(auth.password.encode()) > V2_AUTH_LEN:
            out.append(
                Problem(
                    f"{path}.authentication.password",
                    f"only the first {V2_AUTH_LEN} bytes are sent and compared "
                    f"({auth.password.encode()[:V2_AUTH_LEN].decode(errors='replace')!r}), as Keepalived does",
                )
            )
        if not inst.preempt and inst.preempt_delay > 0:
            out.append(
                Problem(
                    f"{path}.preempt_delay",
                    "has no effect with preempt: false (this node never preempts); remove one",
                )
            )
        if not inst.owner:
            continue
        check_weight = {c.name: c.weight for c in config.scripts}
        weighted = [
            t.name
            for t in inst.track_scripts
            if (check_weight.get(t.name, 0) if t.weight is None else t.weight)
        ]
        weighted += [t.name for t in inst.track_interfaces if t.weight]
        weighted += [t.path for t in inst.track_files if t.weight]
        weighted += [t.name for t in inst.track_processes if t.weight]
        if weighted:
            out.append(
                Problem(
                    f"instances.{inst.name}.priority",
                    f"priority 255 (address owner) is never changed by weights, so {', '.join(weighted)} "
                    "cannot move mastership; only weight-0 trackers (FAULT) can",
                )
            )
    return out


def _check_problems(check: CheckConfig) -> list[Problem]:
    path = f"scripts.{check.name}"
    out = []
    if not check.interval > 0:
        out.append(Problem(f"{path}.interval", f"must be > 0 (got {check.interval})"))
    if check.timeout is not None and not check.timeout > 0:
        out.append(Problem(f"{path}.timeout", f"must be > 0 (got {check.timeout})"))
    if not -254 <= check.weight <= 254:
        out.append(Problem(f"{path}.weight", f"must be -254..254 (got {check.weight})"))
    for key in ("rise", "fall"):
        if getattr(check, key) < 1:
            out.append(Problem(f"{path}.{key}", f"must be >= 1 (got {getattr(check, key)})"))
    if not check.command.strip():
        out.append(Problem(f"{path}.command", "must not be empty"))
    return out


def _instance_problems(inst: InstanceConfig, scripts: dict[str, CheckConfig]) -> list[Problem]:
    path = f"instances.{inst.name}"
    out = []
    if not VRID_MIN <= inst.vrid <= VRID_MAX:
        out.append(Problem(f"{path}.vrid", f"must be 1..255 (got {inst.vrid})"))
    if not 1 <= inst.priority <= PRIORITY_OWNER:
        out.append(Problem(f"{path}.priority", f"must be 1..255 (got {inst.priority})"))
    if inst.version not in (2, 3):
        out.append(Problem(f"{path}.version", f"must be 2 or 3 (got {inst.version})"))
    out += _interval_problems(inst, path)
    if inst.preempt_delay < 0:
        out.append(Problem(f"{path}.preempt_delay", f"must be >= 0 (got {inst.preempt_delay})"))
    if not inst.virtual_addresses:
        out.append(Problem(f"{path}.virtual_addresses", "needs at least one address"))
    families = {family_of(v.address.ip) for v in inst.virtual_addresses}
    if len(families) > 1:
        out.append(Problem(f"{path}.virtual_addresses", "all addresses must be of one family"))
    if inst.family is Family.V6 and inst.version == 2:
        out.append(Problem(f"{path}.version", "IPv6 requires version 3"))
    advertised = {v.address.ip for v in inst.virtual_addresses}
    for index, excluded in enumerate(inst.excluded_addresses):
        if excluded.address.ip in advertised:
            out.append(Problem(f"{path}.excluded_addresses[{index}]",
                               f"{excluded.address.ip} is also in virtual_addresses"))  # fmt: skip
    out += _size_problems(inst, path)
    if not inst.accept:
        out.append(
            Problem(
                f"{path}.accept",
                "accept: false (RFC 5798 Accept_Mode off) is not enforced by vrrpd yet; "
                "remove the key (default true) and filter traffic to the VIPs with nftables",
            )
        )
    for peer in inst.unicast_peers:
        if family_of(peer) is not inst.family:
            out.append(
                Problem(f"{path}.unicast_peers", f"{peer} is not IP{inst.family} like the VIPs")
            )
    if inst.unicast_source is not None and family_of(inst.unicast_source) is not inst.family:
        out.append(
            Problem(f"{path}.unicast_source", f"{inst.unicast_source} is not IP{inst.family}")
        )
    if not 0 <= inst.unicast_max_hops <= 254:
        out.append(
            Problem(f"{path}.unicast_max_hops", f"must be 0..254 (got {inst.unicast_max_hops})")
        )
    elif inst.unicast_max_hops and not inst.unicast_peers:
        # The lower TTL would hold for every sender: without peers no source is refused,
        # so anyone that many hops away could send a priority-255 advert.
        out.append(
            Problem(
                f"{path}.unicast_max_hops",
                "needs unicast_peers (only their adverts may cross routers; "
                "multicast adverts keep TTL 255)",
            )
        )
    out += _announce_problems(inst, path)
    if inst.authentication is not None:
        if inst.version != 2:
            out.append(Problem(f"{path}.authentication", "authentication exists only in VRRPv2"))
        if inst.authentication.type.lower() != "pass":
            out.append(
                Problem(
                    f"{path}.authentication.type",
                    f"only pass (Keepalived's PASS) is supported (got {inst.authentication.type!r})",
                )
            )
        if not inst.authentication.password:
            out.append(Problem(f"{path}.authentication.password", "must not be empty"))
    for track in inst.track_scripts:
        if track.name not in scripts:
            close = difflib.get_close_matches(track.name, list(scripts), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(
                Problem(
                    f"{path}.track_scripts",
                    f"no script named {track.name!r}{hint}",
                    f"scripts.{track.name}",
                )
            )
    out += _tracker_problems(inst, path)
    if inst.garp.repeat < 1:
        out.append(Problem(f"{path}.garp.repeat", f"must be >= 1 (got {inst.garp.repeat})"))
    if inst.garp.delay < 0 or inst.garp.refresh < 0:
        out.append(Problem(f"{path}.garp", "delay and refresh must be >= 0"))
    return out


_IFNAME_MAX = 15
"""IFNAMSIZ - 1: the longest device name Linux accepts."""


def _announce_problems(inst: InstanceConfig, path: str) -> list[Problem]:
    """``announce: bgp`` puts host routes on one device: a wider prefix there would make
    the kernel treat a whole subnet as local, and a VMAC or a per-VIP device has no use."""
    out = []
    dev = inst.announce_device
    if not dev or len(dev) > _IFNAME_MAX or any(c in dev for c in "/: \t") or dev in (".", ".."):
        out.append(Problem(f"{path}.announce_device", f"not a device name (got {dev!r})"))
    for key in ("announce_hold", "announce_grace"):
        if not 0 <= getattr(inst, key) <= 10:
            out.append(Problem(f"{path}.{key}", f"must be 0..10 s (got {getattr(inst, key)})"))
    if inst.election is Election.NONE and inst.announce is not Announce.BGP:
        # every healthy node holds the VIPs: routed, anycast; on a segment, one address
        # on every node, each one's gratuitous ARP pulling the clients to it
        out.append(
            Problem(
                f"{path}.election",
                "election: none needs announce: bgp (on a segment every node would hold "
                "the same address)",
            )
        )
    if inst.election is Election.NONE:
        weighted = [t.name for t in inst.track_scripts if t.weight]
        weighted += [t.name for t in inst.track_interfaces if t.weight]
        weighted += [t.path for t in inst.track_files if t.weight]
        weighted += [t.name for t in inst.track_processes if t.weight]
        if weighted:
            out.append(
                Problem(
                    f"{path}.election",
                    f"election: none has no priority to move: {', '.join(weighted)} "
                    "must have weight 0 (down = withdraw)",
                )
            )
    if inst.announce is not Announce.BGP:
        return out
    if inst.use_vmac:
        out.append(Problem(f"{path}.use_vmac", "announce: bgp sends no ARP: a VMAC has no use"))
    for key in ("virtual_addresses", "excluded_addresses"):
        for index, vip in enumerate(getattr(inst, key)):
            where = f"{path}.{key}[{index}]"
            host = vip.address.network.max_prefixlen
            if vip.address.network.prefixlen != host:
                out.append(
                    Problem(
                        where,
                        f"announce: bgp puts each VIP on {dev} as a host route: "
                        f"write {vip.address.ip}/{host} (got {vip.address})",
                    )
                )
            if vip.dev is not None and vip.dev != dev:
                out.append(
                    Problem(
                        where, f"announce: bgp puts the VIPs on announce_device {dev}: drop dev"
                    )
                )
    return out


def _tracker_problems(inst: InstanceConfig, path: str) -> list[Problem]:
    """Weights in range, quorums that can fail, and nothing tracked twice."""
    out = []
    lists: tuple[tuple[str, tuple[Any, ...], str], ...] = (
        ("track_scripts", inst.track_scripts, "name"),
        ("track_interfaces", inst.track_interfaces, "name"),
        ("track_files", inst.track_files, "path"),
        ("track_processes", inst.track_processes, "key"),
    )
    for key, tracks, ident in lists:
        seen: set[str] = set()
        for index, track in enumerate(tracks):
            where = f"{path}.{key}[{index}]"
            name = getattr(track, ident)
            if name in seen:
                out.append(Problem(where, f"{name} is tracked twice; keep one entry"))
            seen.add(name)
            if track.weight is not None and not -254 <= track.weight <= 254:
                out.append(Problem(where, f"weight must be -254..254 (got {track.weight})"))
            if track.reverse and not track.weight:
                out.append(Problem(where, "reverse needs a non-zero weight to negate"))
            quorum = getattr(track, "quorum", 1)
            if quorum < 1:
                out.append(
                    Problem(where, f"quorum must be >= 1 (got {quorum}: it could never be down)")
                )
    return out


def _size_problems(inst: InstanceConfig, path: str) -> list[Problem]:
    """The advert must carry every VIP: the count is one byte, and an IPv6 advert must fit
    the 1280 bytes every link carries (255 IPv4 addresses make only 1056 bytes)."""
    count = len(inst.virtual_addresses)
    key = f"{path}.virtual_addresses"
    if count > ADDRESS_COUNT_MAX:
        return [
            Problem(key, f"at most {ADDRESS_COUNT_MAX} addresses fit in an advert (got {count})")
        ]
    fixed = IPV6_HEADER_LEN + V3_HEADER_LEN
    if inst.family is Family.V6 and fixed + 16 * count > IPV6_MIN_MTU:
        most = (IPV6_MIN_MTU - fixed) // 16
        return [
            Problem(
                key,
                f"{count} IPv6 addresses make a {fixed + 16 * count}-byte advert, over the "
                f"{IPV6_MIN_MTU}-byte minimum MTU; at most {most} fit (split them over instances)",
            )
        ]
    return []


def _interval_problems(inst: InstanceConfig, path: str) -> list[Problem]:
    key = f"{path}.advert_interval"
    seconds = inst.advert_interval
    if inst.version == 2:
        if seconds != int(seconds) or not 1 <= seconds <= V2_INTERVAL_MAX_S:
            return [Problem(key, f"VRRPv2 needs whole seconds 1..255 (got {seconds})")]
        return []
    cs = seconds * CENTISECONDS
    if abs(cs - round(cs)) > 1e-6 or not 1 <= round(cs) <= V3_INTERVAL_MAX_CS:
        return [Problem(key, f"VRRPv3 needs 0.01..40.95 s in 0.01 s steps (got {seconds})")]
    return []
