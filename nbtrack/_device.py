"""Reading small tensors back from an accelerator without ever waiting for it.

Both the run (0-d tensors passed to `log()`) and `watch` (histogram tables) need the same
thing: start a copy into pinned host memory with ``non_blocking=True``, mark it with a CUDA
event, and pick the result up once the event has fired, polled with ``.query()``, never
``synchronize()`` unless the caller asks to wait (at the end of a run).
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class DeviceReadback(Generic[T]):
    """Copies on their way to the host, each with a tag saying what it is, in order."""

    def __init__(self) -> None:
        self._inflight: deque[tuple[T, Any, Any]] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._inflight)

    def send(self, tag: T, tensor: Any) -> None:
        """Start copying `tensor` to the host; a CPU tensor is ready at once."""
        torch = sys.modules["torch"]
        if tensor.device.type == "cuda":
            host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
            host.copy_(tensor, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
        else:
            host, event = tensor, None
        with self._lock:
            self._inflight.append((tag, host, event))

    def receive(self, wait: bool = False) -> list[tuple[T, Any]]:
        """The copies that have arrived, oldest first, as (tag, NumPy array).

        Stops at the first copy still under way, so results come in the order sent; with
        `wait`, waits for all of them.
        """
        out: list[tuple[T, Any]] = []
        with self._lock:
            while self._inflight:
                tag, host, event = self._inflight[0]
                if event is not None and not event.query():
                    if not wait:
                        break
                    event.synchronize()
                self._inflight.popleft()
                out.append((tag, host.numpy()))
        return out
