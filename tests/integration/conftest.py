"""The integration tests: each framework for real, on the CPU, with tiny models.

Keras 3 picks its backend when it is first imported: torch here (the one installed), set
before any test module imports keras.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
# Hugging Face and Lightning look for the network (hub, telemetry) unless told not to.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _in_a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lightning writes checkpoints, and a download goes, under the working folder by
    default (as with W&B): each test's own, never the repository."""
    monkeypatch.chdir(tmp_path)
