"""A TCP proxy in front of a server that, now and then, drops the connection once the server
has answered an upload and before the answer reaches the client: the server committed the
batch, the client never hears so. What a flaky network or a crashing load balancer does."""

from __future__ import annotations

import contextlib
import random
import socket
import threading

from tests.server.servers import free_port


class DroppingProxy:
    def __init__(
        self, upstream_port: int, drop: float, seed: int = 0, max_drops: int | None = None
    ) -> None:
        self.upstream_port = upstream_port
        self.drop = drop
        # Past this many drops every answer passes, and the answer after a drop always does:
        # the uploader's backoff doubles with each failure in a row, so drops in a row make a
        # test minutes long, not more thorough.
        self.max_drops = max_drops
        self._dropped_last = False
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dropped = 0
        self.uploads = 0
        self._random = random.Random(seed)
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
                        roll = self._random.random()
                        self.uploads += upload
                    with self._lock:
                        drop = upload and roll < self.drop
                        if self.max_drops is not None:
                            drop = drop and self.dropped < self.max_drops and not self._dropped_last
                        if upload:
                            self._dropped_last = drop
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
