"""vrrpd: a VRRP failover agent with a pure protocol core."""

__version__ = "0.1.0"
