"""Argument types shared by the subcommands: each refuses bad input while the command line
is parsed, before any work starts, with a message that names the option."""

from __future__ import annotations

import argparse

#: the largest seed numpy and scikit-learn accept
MAX_SEED = 2**32 - 1


def seed(text: str) -> int:
    """A seed: an integer in ``0 .. 2**32 - 1``."""
    value = _integer(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..{MAX_SEED}, got {text}")
    return value


def positive(text: str) -> int:
    """An integer of at least 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def folder(text: str) -> str:
    """A non-empty folder name (an empty one would write into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder (got an empty string)")
    return text


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
