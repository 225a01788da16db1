"""What the agent shows the outside: the control socket and the Prometheus endpoint.

The control socket follows the config across reloads: the new path is bound before
the old one is closed, and only the old path is unlinked (never the new one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vrrpd.adapters import http
from vrrpd.control import server
from vrrpd.core.config import Config

log = logging.getLogger("vrrpd")


class Surface:
    def __init__(
        self,
        command: server.Handler,
        metrics: Callable[[], str],
    ) -> None:
        self._command = command
        self._metrics_text = metrics
        self.control: tuple[Any, str] | None = None
        self._group: str | None = None
        self._metrics: Any = None
        self._listen: str | None = None

    async def open(self, config: Config) -> None:
        """Bind the control socket (again, when its path or group changed) and metrics."""
        path = config.global_.control_socket
        group = config.global_.control_group
        if self.control is None or self.control[1] != path:
            bound = await server.serve(path, self._command, group=group)
            if self.control is not None:
                server.close(*self.control)  # the old path, never the new one
            self.control = (bound, path)
        elif group != self._group:
            # Same path, another group: a new socket renamed over the old one.
            bound = await server.serve(path, self._command, group=group, replace=True)
            self.control[0].close()
            self.control = (bound, path)
        self._group = group
        listen = config.global_.metrics_listen
        if listen != self._listen and self._metrics is not None:
            self._metrics.close()  # removed or moved: never left where the operator closed it
            self._metrics = None
        if listen and self._metrics is None:
            self._metrics = await http.serve(listen, self._metrics_text)
            log.info("Prometheus metrics on http://%s/metrics", listen)
        self._listen = listen

    def close(self) -> None:
        if self.control is not None:
            server.close(*self.control)
            self.control = None
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None
