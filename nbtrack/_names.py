"""Run ids and the readable default names of runs ("swift-river-3")."""

from __future__ import annotations

import string

_ADJECTIVES = [
    "amber",
    "azure",
    "bold",
    "brisk",
    "calm",
    "clever",
    "cosmic",
    "crisp",
    "daring",
    "dawn",
    "eager",
    "fancy",
    "fiery",
    "gentle",
    "golden",
    "hardy",
    "icy",
    "jolly",
    "keen",
    "lively",
    "lucid",
    "misty",
    "noble",
    "polar",
    "proud",
    "quiet",
    "rapid",
    "royal",
    "silent",
    "snowy",
    "solar",
    "spring",
    "stellar",
    "stoic",
    "sunny",
    "swift",
    "tidal",
    "vivid",
    "warm",
    "wild",
    "wise",
]
_NOUNS = [
    "aurora",
    "breeze",
    "brook",
    "canyon",
    "cloud",
    "comet",
    "cosmos",
    "dawn",
    "dew",
    "dream",
    "dune",
    "ember",
    "field",
    "firefly",
    "forest",
    "frost",
    "galaxy",
    "glade",
    "grove",
    "haze",
    "hill",
    "lake",
    "leaf",
    "meadow",
    "moon",
    "mountain",
    "night",
    "ocean",
    "pine",
    "planet",
    "rain",
    "river",
    "sea",
    "shadow",
    "sky",
    "snow",
    "star",
    "sun",
    "thunder",
    "tree",
    "wave",
    "wind",
]
_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_id() -> str:
    """Eight random characters of [a-z0-9]: 41 bits, ample for the runs of one project."""
    import secrets  # here, not at import: it brings hashlib and hmac

    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def default_name(number: int) -> str:
    """A name like W&B's: two words and the run's number in its project."""
    import random

    rng = random.Random()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{number}"
