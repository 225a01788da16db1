"""Imports the agent keeps out of memory until used (issue 17: RSS <= 40 MB at 200 instances).

Whatever ``vrrpd run`` imports stays resident for the agent's life. Two libraries import
far more than the agent uses, at import time:

* pyroute2's package ``__init__`` imports every netlink family it speaks (NDB with
  sqlite3, IPDB, nftables, wireguard, ...): 13 MB where the rtnetlink modules the agent
  uses are 6.3 (``netlink.py`` imports those alone, see ``defer``);
* asyncio imports ``ssl`` to offer TLS, which loads OpenSSL: 4.4 MB more for asyncio
  (9.4 against 5.0 MB, measured in one process). The agent speaks no TLS: its control
  socket is a Unix socket, its metrics plain HTTP.

Nothing here changes what a library does once asked: a deferred module runs its real
code the first time a name of it is looked up (``from pyroute2 import IPRoute`` in the
lab or the tests, or pyroute2's ``ssl`` probe), so only memory differs.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _Deferred(types.ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        spec = self.__spec__
        assert spec is not None
        assert spec.loader is not None
        submodule = f"{self.__name__}.{attribute}"
        if spec.submodule_search_locations is not None and importlib.util.find_spec(submodule):
            return importlib.import_module(submodule)  # a package's submodule: sets it on us
        object.__setattr__(self, "__class__", types.ModuleType)  # once: the real code
        spec.loader.exec_module(self)
        return getattr(self, attribute)


def defer(*names: str) -> None:
    """Put each module in ``sys.modules`` uninitialised: a package keeps its ``__path__``,
    so its submodules import as usual without its ``__init__``; the first other name asked
    of it runs the real code. Already imported or not found: left alone."""
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            continue  # the plain import then says what is missing
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _Deferred
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)  # as an import would


def asyncio_without_tls() -> None:
    """Import asyncio as on a Python built without ``ssl`` (a configuration asyncio
    supports: TLS arguments then raise), and leave ``ssl`` deferred for others. Only
    for the agent (``vrrpd run``), and only before anything imported either."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]
    try:
        import asyncio  # noqa: F401, PLC0415
    finally:
        del sys.modules["ssl"]
    defer("ssl")
