"""Adapters: each talks to exactly one outside thing (sockets, netlink, processes, systemd)."""
