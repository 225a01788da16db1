"""Why a packet was refused.

Bytes from the wire never raise out of the core except as :class:`DecodeError`
(ARCHITECTURE.md rule 3): every refusal is a counter and a reason, and any other
exception is a bug to be found by the fuzz tests.
"""

from __future__ import annotations

import enum


class DropReason(enum.Enum):
    """Every reason a received packet is discarded, one value per counter family.

    The values are the stable, human strings that reach logs and metrics labels.
    """

    TRUNCATED = "truncated"
    BAD_VERSION = "bad version"
    BAD_TYPE = "bad type"
    LENGTH_MISMATCH = "length does not match address count"
    BAD_CHECKSUM = "bad checksum"
    ZERO_INTERVAL = "zero advertisement interval"
    ZERO_COUNT = "zero address count"
    BAD_VRID = "VRID 0"
    BAD_AUTH_TYPE = "unknown authentication type"
    TTL = "TTL / hop limit too low"
    """Below 255, or below 255 - unicast_max_hops for routed unicast peers: the detail says
    which minimum the instance applies."""
    UNKNOWN_VRID = "no instance for this VRID"
    VERSION_MISMATCH = "version differs from the instance's"
    AUTH_MISMATCH = "authentication type differs from the instance's"
    AUTH_FAILURE = "wrong password"
    INTERVAL_MISMATCH = "advertisement interval differs (v2 requires equal)"
    ADDRESS_LIST = "address list differs from ours"
    CHECKSUM_FORM = "checksum form not accepted by this instance"
    NOT_A_PEER = "source is not a configured unicast peer"
    OWN_ADDRESS = "source is one of our own addresses (another router uses it?)"


class DecodeError(Exception):
    """A packet the codec refuses; ``reason`` says which counter it belongs to."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)


class ConfigurationError(ValueError):
    """A configuration the core cannot run (the loader reports it with a file position)."""
