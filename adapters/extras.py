"""Which optional dependencies the torch adapters need, and the message when they are
missing (``pip install catcore`` installs the categorical core alone)."""

from __future__ import annotations

import importlib.util

#: Import names of the packages the ``nets`` extra installs.
NETS = ("torch", "ripser", "persim", "sklearn", "matplotlib", "tqdm")
INSTALL = "pip install 'catcore[nets]'"


def missing_nets() -> list[str]:
    """The packages of the ``nets`` extra that cannot be imported here."""
    return [name for name in NETS if importlib.util.find_spec(name) is None]


class MissingExtra(ImportError):
    """The torch adapters were asked for without their dependencies installed."""


def require_nets(what: str) -> None:
    """Raise :class:`MissingExtra` naming the extra when ``what`` cannot run here."""
    missing = missing_nets()
    if missing:
        raise MissingExtra(
            f"{what} needs the torch adapters' dependencies (missing: {', '.join(missing)}): "
            f"install them with {INSTALL}"
        )
