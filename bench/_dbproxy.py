"""A TCP proxy in front of the PostgreSQL server that can play an outage.

The load test's fault "db-outage" makes the database unreachable for the app without stopping
the machine's shared PostgreSQL server: the app's DATABASE_URL points at this proxy, and
``down()`` aborts every live connection (both sides, at once, as a crashed server would) and
stops listening, so new connections are refused; ``up()`` listens again on the same port.

- ``Proxy``: the proxy on an asyncio loop in a thread, for tests and plain Python callers;
- ``python bench/_dbproxy.py HOST PORT``: the same in its own process, for the load harness
  (whose gevent-patched process should not also carry the database's traffic). It prints
  ``port N`` once listening, then answers each line ``down`` / ``up`` / ``quit`` on stdin with
  ``ok down`` / ``ok up`` once done.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
import threading
from concurrent.futures import Future

CHUNK = 65536


class Proxy:
    """127.0.0.1:<port> → target_host:target_port, with an outage switch."""

    def __init__(self, target_host: str, target_port: int, port: int = 0):
        self.target = (target_host, target_port)
        self.port = port
        self.connections = 0  # accepted since start, for tests and reports
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._live: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # --- called from any thread ------------------------------------------------------------

    def start(self) -> Proxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def down(self) -> None:
        """Abort every connection and refuse new ones."""
        self._call(self._down())

    def up(self) -> None:
        """Accept connections again (on the same port)."""
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def url(self, db_url: str) -> str:
        """`db_url` pointed at this proxy."""
        import sqlalchemy as sa

        u = sa.engine.make_url(db_url).set(host="127.0.0.1", port=self.port)
        return u.render_as_string(hide_password=False)

    def _call(self, coro) -> None:
        future: Future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.result(10)

    # --- on the loop -----------------------------------------------------------------------

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _down(self) -> None:
        if self._server is not None:
            self._server.close()  # no new connections: connect() is refused
            self._server = None
        for writer in list(self._live):
            _abort(writer)
        self._live.clear()

    async def _shutdown(self) -> None:
        await self._down()
        # The aborted transports end their pipes on the next turns of the loop.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _abort(writer)
            return
        pair = {writer, up_writer}
        self._live |= pair
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in pair:
                self._live.discard(w)
                _abort(w)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        _abort(writer)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close at once, with a reset rather than an orderly end (what a dead server's peer sees)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    proxy = Proxy(host, port).start()
    print(f"port {proxy.port}", flush=True)
    for line in sys.stdin:
        verb = line.strip()
        if verb == "down":
            proxy.down()
        elif verb == "up":
            proxy.up()
        elif verb == "quit":
            break
        else:
            print(f"unknown {verb}", flush=True)
            continue
        print(f"ok {verb}", flush=True)
    proxy.stop()


if __name__ == "__main__":
    main()
