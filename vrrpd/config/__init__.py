"""Configuration files: the YAML loader (``loader``) and script checks (``security``).

The types the core runs on live in ``vrrpd.core.config``: the core owns what it consumes.
"""
