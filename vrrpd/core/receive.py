"""Receiving: the RFC 5798 section 7.1 checks, and the counters every refusal lands in.

Each refused packet is counted once: ``packets_dropped`` plus the one reason counter
``COUNTER_OF_REASON`` names (RFC 6527's), or router-wide for ``ROUTER_WIDE`` reasons.
docs/operations.md lists where each lands (a test keeps it in step).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from vrrpd.core.actions import Action, Notice, PacketDropped
from vrrpd.core.config import ChecksumMode, InstanceConfig
from vrrpd.core.constants import AUTH_NONE, AUTH_PASS, PRIORITY_OWNER, TTL, Family, IPAddress
from vrrpd.core.errors import DropReason
from vrrpd.core.packet import ChecksumForm, Decoded, password_bytes


class NewMasterReason(enum.Enum):
    """RFC 6527 vrrpv3StatisticsNewMasterReason."""

    NOT_MASTER = "notMaster"
    PRIORITY = "priority"
    PREEMPTED = "preempted"
    MASTER_NO_RESPONSE = "masterNoResponse"


@dataclass
class Counters:
    """Per-instance counters, named after RFC 6527 (plus send-side and auth counters)."""

    master_transitions: int = 0
    new_master_reason: NewMasterReason = NewMasterReason.NOT_MASTER
    rcvd_advertisements: int = 0
    sent_advertisements: int = 0
    adv_interval_errors: int = 0
    ip_ttl_errors: int = 0
    rcvd_pri_zero_packets: int = 0
    sent_pri_zero_packets: int = 0
    rcvd_invalid_type_packets: int = 0
    address_list_errors: int = 0
    packet_length_errors: int = 0
    checksum_errors: int = 0
    version_errors: int = 0
    auth_failures: int = 0
    invalid_auth_type: int = 0
    auth_type_mismatch: int = 0
    unicast_peer_errors: int = 0
    own_address_packets: int = 0
    """Adverts whose source is one of our addresses: two routers sharing an address."""
    packets_dropped: int = 0
    """Every packet refused for this instance, whatever the reason (each counted once,
    and in exactly one reason counter too; v3 interval and address-list differences
    are counted as errors but not dropped)."""
    proto_err_reason: str = "noError"
    checksum_forms: dict[str, str] = field(default_factory=dict)
    """Peer address -> the VRRPv3/IPv4 checksum form it was last seen using."""


COUNTER_OF_REASON = {
    DropReason.TRUNCATED: "packet_length_errors",
    DropReason.LENGTH_MISMATCH: "packet_length_errors",
    DropReason.BAD_TYPE: "rcvd_invalid_type_packets",
    DropReason.BAD_CHECKSUM: "checksum_errors",
    DropReason.CHECKSUM_FORM: "checksum_errors",
    DropReason.BAD_VERSION: "version_errors",
    DropReason.VERSION_MISMATCH: "version_errors",
    DropReason.TTL: "ip_ttl_errors",
    DropReason.INTERVAL_MISMATCH: "adv_interval_errors",
    DropReason.ADDRESS_LIST: "address_list_errors",
    DropReason.BAD_AUTH_TYPE: "invalid_auth_type",
    DropReason.AUTH_MISMATCH: "auth_type_mismatch",
    DropReason.AUTH_FAILURE: "auth_failures",
    DropReason.NOT_A_PEER: "unicast_peer_errors",
    DropReason.OWN_ADDRESS: "own_address_packets",
    DropReason.ZERO_INTERVAL: "packet_length_errors",
    DropReason.ZERO_COUNT: "address_list_errors",
}

ROUTER_WIDE = frozenset({DropReason.BAD_VRID, DropReason.UNKNOWN_VRID})
"""Reasons no instance can be held to: the VRID is 0 or not one we run."""

MAX_FORMS = 16
"""Peers whose checksum form ``checksum_forms`` keeps (the most recent): a VRID has a
handful of routers, a flood of spoofed sources must not grow the status reply."""
MAX_NOTICES = 64
"""Distinct notices an instance remembers; past it new ones are only counted (and one
notice says so) until remembered ones have been quiet for NOTICE_QUIET."""
NOTICE_QUIET = 600.0
"""Seconds a notice's cause must stay unheard before it is forgotten: a cause that comes
back later (a real misconfiguration a week after a spoofed flood) is given again, one that
goes on is given once. Also the least time between two "only counted" notices."""

MAX_LOWER_MASTERS = 64
"""Lower-priority masters a master remembers (the most recent): a real split brain has
a handful, a flood of spoofed sources must not grow the table."""
HEAL_HOLD_MIN = 1.0
"""Seconds at least between two split-brain heals (GARP burst, notice, master hook)."""
ASSERTS_PER_INTERVAL = 10
"""Immediate answers to lower-priority adverts a master sends per advert interval."""


class LowerMasters:
    """The lower-priority masters a master heard, and when it last answered them.

    Everything here is keyed by a source address anyone on the link can forge: one
    spoofed source per packet must neither grow the table (capped, least recently heard
    evicted, quiet ones pruned) nor buy a heal each. So a heal is given at most once per
    window (three advert intervals, at least HEAL_HOLD_MIN: no new split brain can form
    sooner, the other side must first miss our adverts for its Master_Down_Interval),
    whatever the number of sources, and the immediate assertion at most
    ASSERTS_PER_INTERVAL times per interval (a real second master sends once per interval).
    """

    def __init__(self) -> None:
        self._heard: dict[IPAddress, float] = {}
        self._healed_at: float | None = None
        self._asserted_at: float | None = None

    def __len__(self) -> int:
        return len(self._heard)

    def clear(self) -> None:
        self._heard.clear()
        self._healed_at = self._asserted_at = None

    def may_assert(self, now: float, interval: float) -> bool:
        """Whether to answer this lower-priority advert with one of ours at once."""
        if (
            self._asserted_at is not None
            and now - self._asserted_at < interval / ASSERTS_PER_INTERVAL
        ):
            return False
        self._asserted_at = now
        return True

    def heard(self, src: IPAddress, now: float, interval: float) -> bool:
        """Record ``src``; whether it starts a new episode (not heard within three intervals:
        a master that went quiet, it yielded, and came back is a new split brain)."""
        episode = 3 * interval
        last = self._heard.pop(src, None)
        self._heard[src] = now  # last: the dict runs from least to most recently heard
        while len(self._heard) > 1:
            oldest = next(iter(self._heard))
            if len(self._heard) <= MAX_LOWER_MASTERS and now - self._heard[oldest] <= episode:
                break
            del self._heard[oldest]
        return last is None or now - last > episode

    def may_heal(self, now: float, interval: float) -> bool:
        """Whether a new episode gets a heal, or one was given within the window."""
        if self._healed_at is not None and now - self._healed_at < max(3 * interval, HEAL_HOLD_MIN):
            return False
        self._healed_at = now
        return True


PROTO_ERR = {
    "ip_ttl_errors": "ipTtlError",
    "version_errors": "versionError",
    "checksum_errors": "checksumError",
}


def min_ttl(cfg: InstanceConfig) -> int:
    """The lowest TTL / hop limit accepted: 255 (RFC 5798 7.1, GTSM: only a sender on the
    link can send it), less ``unicast_max_hops`` for routed unicast peers (RFC 5082)."""
    return TTL - cfg.unicast_max_hops


class Receiver:
    """One instance's receive checks, its counters and the notices it gave once."""

    def __init__(self, config: InstanceConfig, counters: Counters) -> None:
        self.config = config
        self.counters = counters
        self._noticed: dict[str, float] = {}
        """Key of each notice given -> when its cause was last heard, least recently heard
        first (at most MAX_NOTICES). A key leaves only after NOTICE_QUIET without its cause,
        never to make room: a flood of rotating sources cannot repeat a notice whose cause
        goes on, and gives at most MAX_NOTICES notices per NOTICE_QUIET."""
        self._silenced_at: float | None = None
        """When the "only counted" notice was last given."""

    def drop(self, reason: DropReason, src: IPAddress, detail: str = "") -> list[Action]:
        """Count a refused packet (once) and say so."""
        self.counters.packets_dropped += 1
        counter = COUNTER_OF_REASON.get(reason)  # None only for the router-wide reasons
        if counter is not None:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)
            self.counters.proto_err_reason = PROTO_ERR.get(counter, self.counters.proto_err_reason)
        cfg = self.config
        if reason is DropReason.TTL:  # the minimum is the instance's: say which
            detail = f"{detail}, at least {min_ttl(cfg)} accepted"
        return [PacketDropped(cfg.name, cfg.interface, src, reason.value, detail)]

    def notice_once(self, key: str, message: str, now: float) -> list[Action]:
        """The notice, unless it was given and its cause heard within NOTICE_QUIET, or the
        table is full of causes heard within it (then counted only, said once a window)."""
        noticed = self._noticed
        heard = noticed.pop(key, None)
        if heard is not None and now - heard < NOTICE_QUIET:
            noticed[key] = now  # heard again: still the same cause, and the most recent
            return []
        while noticed:  # from the least recently heard: causes quiet for long are forgotten
            oldest, last = next(iter(noticed.items()))
            if now - last < NOTICE_QUIET:
                break
            del noticed[oldest]
        if len(noticed) >= MAX_NOTICES:
            if self._silenced_at is not None and now - self._silenced_at < NOTICE_QUIET:
                return []
            self._silenced_at = now
            message = (
                f"{MAX_NOTICES} notices given within {NOTICE_QUIET:g}s; further new ones "
                f"(from other sources) are only counted until older causes have been quiet "
                f"for {NOTICE_QUIET:g}s"
            )
            return [Notice(self.config.name, message)]
        noticed[key] = now
        return [Notice(self.config.name, message)]

    def validate(
        self, decoded: Decoded, cfg: InstanceConfig, *, src: IPAddress, ttl: int, now: float
    ) -> list[Action]:
        """RFC 5798 section 7.1, in its order; a refusal is the last action returned."""
        advert = decoded.advert
        # 1. TTL / hop limit 255 (GTSM), unicast too: a peer's address is easy to spoof
        # from afar, its TTL is not. The node checks it before decoding; this is the same
        # rule for callers that come with a decoded advert.
        if not min_ttl(cfg) <= ttl <= TTL:
            return self.drop(DropReason.TTL, src, f"TTL {ttl}")
        if advert.version != cfg.version:
            return self.drop(
                DropReason.VERSION_MISMATCH, src, f"v{advert.version}, we run v{cfg.version}"
            )
        if cfg.unicast_peers and src not in cfg.unicast_peers:
            return self.drop(DropReason.NOT_A_PEER, src, str(src))
        actions: list[Action] = []
        if advert.version == 3 and cfg.family is Family.V4:
            actions += self._checksum_form(cfg, decoded.checksum_form, src, now)
            if actions and isinstance(actions[-1], PacketDropped):
                return actions
        if advert.version == 2:
            expected = AUTH_PASS if cfg.authentication else AUTH_NONE
            if advert.auth_type != expected:
                return self.drop(
                    DropReason.AUTH_MISMATCH, src, f"type {advert.auth_type}, we use {expected}"
                )
            if cfg.authentication and not _same_secret(
                advert.auth_data, password_bytes(cfg.authentication.password)
            ):  # constant time: the answer must not tell a prober how much was right
                return self.drop(DropReason.AUTH_FAILURE, src)
        if advert.interval_cs != cfg.interval_cs:
            if advert.version == 2:
                return self.drop(
                    DropReason.INTERVAL_MISMATCH,
                    src,
                    f"{advert.interval_cs / 100:g}s, we use {cfg.advert_interval:g}s",
                )
            # v3: SHOULD log, and the backup learns the master's interval.
            self.counters.adv_interval_errors += 1
            actions += self.notice_once(
                f"interval:{src}",
                f"{src} advertises every {advert.interval_cs / 100:g}s, we are configured for "
                f"{cfg.advert_interval:g}s; following the master's interval",
                now,
            )
        if frozenset(advert.addresses) != frozenset(v.address.ip for v in cfg.virtual_addresses):
            theirs = " ".join(map(str, advert.addresses))
            if advert.version == 2 and advert.priority != PRIORITY_OWNER:
                return [*actions, *self.drop(DropReason.ADDRESS_LIST, src, theirs)]
            self.counters.address_list_errors += 1  # v3: an error to count, not to drop
            actions += self.notice_once(
                f"addresses:{src}", f"{src} advertises addresses [{theirs}], ours differ", now
            )
        return actions

    def _checksum_form(
        self, cfg: InstanceConfig, form: ChecksumForm, src: IPAddress, now: float
    ) -> list[Action]:
        mode = cfg.v3_ipv4_checksum
        forms = self.counters.checksum_forms
        forms.pop(str(src), None)  # re-inserted last: the most recent stay
        forms[str(src)] = form.value
        while len(forms) > MAX_FORMS:
            del forms[next(iter(forms))]
        wanted = {
            ChecksumMode.PSEUDO: ChecksumForm.PSEUDO,
            ChecksumMode.MESSAGE: ChecksumForm.MESSAGE,
        }.get(mode)
        if wanted is not None and form is not wanted:
            hint = "message" if form is ChecksumForm.MESSAGE else "pseudo"
            return self.notice_once(
                f"form:{src}",
                f"{src} uses the {form.value} VRRPv3 checksum; set v3_ipv4_checksum: {hint} (or auto) to accept it",
                now,
            ) + self.drop(DropReason.CHECKSUM_FORM, src, form.value)
        if mode is ChecksumMode.AUTO:
            return self.notice_once(
                f"form:{src}:{form.value}", f"{src} uses the {form.value} VRRPv3 checksum", now
            )
        return []


def _same_secret(got: bytes, expected: bytes) -> bool:
    """In constant time. ``hmac`` is imported here, for configs with a password only: it
    loads OpenSSL's libcrypto (3.7 MB resident for the agent's life, issue 17)."""
    import hmac  # noqa: PLC0415

    return hmac.compare_digest(got, expected)
