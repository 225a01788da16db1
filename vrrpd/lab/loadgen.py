"""An HTTP client at a steady rate, one connection per request (keep-alive off, so each
request finds whichever node holds the VIP now), for the demo and the benchmarks.

``python -m vrrpd.lab.loadgen HOST RATE SECONDS [TIMEOUT]`` prints one JSON object
per request: ``t`` (epoch when it was sent), ``ms`` (response time), ``ok`` (a 200
within TIMEOUT), ``lb`` (nginx's X-Served-By) and ``app`` (the body). Requests are
started on a fixed schedule whatever the previous ones do, as real clients arrive.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    sent: float
    ms: float
    ok: bool
    lb: str = ""
    app: str = ""


async def fetch(host: str, timeout: float) -> Result:
    sent, began = time.time(), time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, 80)
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = await reader.read()
            writer.close()
    except (OSError, TimeoutError):
        return Result(sent, (time.monotonic() - began) * 1000, ok=False)
    elapsed = (time.monotonic() - began) * 1000
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    ok = len(lines[0].split()) > 1 and lines[0].split()[1] == "200"
    lb = next(
        (
            line.split(":", 1)[1].strip()
            for line in lines
            if line.lower().startswith("x-served-by:")
        ),
        "",
    )
    return Result(sent, elapsed, ok, lb, body.decode(errors="replace").strip())


def parse(line: str) -> Result | None:
    try:
        data = json.loads(line)
        return Result(data["t"], data["ms"], data["ok"], data.get("lb", ""), data.get("app", ""))
    except (ValueError, KeyError, TypeError):
        return None


async def run(host: str, rate: float, seconds: float, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    pending: set[asyncio.Task[Result]] = set()

    def report(task: asyncio.Task[Result]) -> None:
        pending.discard(task)
        r = task.result()
        sys.stdout.write(
            json.dumps(
                {"t": round(r.sent, 6), "ms": round(r.ms, 3), "ok": r.ok, "lb": r.lb, "app": r.app}
            )
            + "\n"
        )
        sys.stdout.flush()

    n = 0
    while seconds <= 0 or loop.time() - start < seconds:
        task = asyncio.create_task(fetch(host, timeout))
        pending.add(task)
        task.add_done_callback(report)
        n += 1
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
    if pending:
        await asyncio.wait(pending)


def main() -> int:
    host, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    asyncio.run(run(host, rate, seconds, timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
