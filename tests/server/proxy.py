"""A TCP proxy in front of a server that drops the connection once the server has answered an
upload and before the answer reaches the client: the server committed the batch, the client
never hears so. What a flaky network or a crashing load balancer does.

Which answers are dropped is fixed (every `every`-th upload), not drawn at random: the number
of uploads a run makes depends on timing, and a random draw over a handful of uploads dropped
too few now and then, so the test's check that the chaos happened failed by chance."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.server.servers import free_port


class DroppingProxy:
    def __init__(self, upstream_port: int, every: int = 2, max_drops: int | None = None) -> None:
        if every < 2:
            # The answer after a drop always passes: the uploader's backoff doubles with each
            # failure in a row, so drops in a row make a test minutes long, not more thorough.
            raise ValueError(f"every must be at least 2, got {every}")
        self.upstream_port = upstream_port
        self.every = every
        # Past this many drops every answer passes.
        self.max_drops = max_drops
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dropped = 0
        self.uploads = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=60)
        except OSError:
            client.close()
            return
        request: list[bytes] = []  # the bytes of the request under way, to tell uploads apart

        def pump_up() -> None:
            with contextlib.suppress(OSError):
                while data := client.recv(1 << 16):
                    request.append(data[:200])
                    upstream.sendall(data)
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)

        threading.Thread(target=pump_up, daemon=True).start()
        try:
            answering = False
            while data := upstream.recv(1 << 16):
                if not answering:  # the first bytes of an answer: drop it, or pass it on
                    answering = True
                    upload = bool(request) and b"/chunks" in request[0]
                    with self._lock:
                        self.uploads += upload
                        drop = upload and self.uploads % self.every == 0
                        if self.max_drops is not None:
                            drop = drop and self.dropped < self.max_drops
                        self.dropped += drop
                    if drop:
                        return
                if len(data) < (1 << 16):
                    # One answer, one read: the next bytes are the next answer. Forgotten
                    # before it is passed on: once the client has it, it sends the next request.
                    answering = False
                    request.clear()
                client.sendall(data)
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.close()
