"""The multi-task limit study on digits: two-task models (digit class and parity) whose heads
read the trunk's output or an earlier layer, trained, then probed by
:func:`~adapters.constructions.multitask.limit_preservation_probe` (``catcore limits`` and
the ``limits`` section of ``catcore reproduce``; ``docs/transfer.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from adapters.constructions.multitask import limit_preservation_probe
from adapters.constructions.multitask_model import multitask_loss, multitask_mlp
from adapters.nets.data import digits
from adapters.nets.metrics import accuracy_of
from adapters.nets.training import train
from adapters.runtime.threads import limit_threads

#: Architectures probed on digits: where the heads read the trunk.
VARIANTS = {
    "shared-trunk": "",  # heads read the trunk output (the shared representation)
    "tapped": "1",  # heads read the first hidden layer; the shared output lies beyond it
}


def digits_limits(
    variants: Sequence[str] = tuple(VARIANTS),
    hidden: Sequence[int] = (16, 8),
    probe: int = 64,
    epochs: int = 30,
    lr: float = 1e-2,
    seed: int = 0,
    tol: float = 1e-9,
    threads: int | None = 1,
    at_init: bool = False,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train two-task digits models (digit class and parity) and probe them.

    For each variant (:data:`VARIANTS`) a :func:`multitask_mlp` with trunk widths ``hidden``
    is trained (``epochs`` of Adam on the summed cross-entropies) and probed on the first
    ``probe`` test images (also before training with ``at_init``). ``threads`` limits torch and BLAS
    threads while it runs (``None``: leave them; on a busy machine one thread is much
    faster for these matrix sizes). ``say`` receives one line per probed model (a line
    printer, not a progress bar). Returns a JSON-serializable dict.
    """
    with limit_threads(threads):
        return _digits_limits(variants, hidden, probe, epochs, lr, seed, tol, at_init, say)


def _digits_limits(
    variants, hidden, probe, epochs, lr, seed, tol, at_init, say
) -> dict[str, Any]:
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    say = say or (lambda _line: None)
    data = digits(seed=seed)
    if not 1 <= probe <= len(data.X_test):
        raise ValueError(f"probe must be in 1..{len(data.X_test)} test images, got {probe}")
    y_train = {"digit": data.y_train, "parity": data.y_train % 2}
    y_test = {"digit": data.y_test, "parity": data.y_test % 2}
    X_probe = data.X_test[:probe]
    out: dict[str, Any] = {
        "config": {"hidden": list(hidden), "probe": probe, "epochs": epochs, "lr": lr,
                   "seed": seed, "tol": tol, "data": repr(data)},  # fmt: skip
        "variants": {},
    }
    for name in variants:
        model = multitask_mlp(64, hidden, {"digit": 10, "parity": 2}, VARIANTS[name], seed)
        read = VARIANTS[name]
        entry: dict[str, Any] = {"heads_read": f"trunk child {read!r}" if read else "trunk output"}
        if at_init:
            entry["init"] = limit_preservation_probe(model, X_probe, tol=tol).to_dict()
            say(f"{name} at init: {entry['init']['verdict']}, gap {entry['init']['rank_gap']}")
        log = train(model, (data.X_train, y_train), optimizer="adam", epochs=epochs, lr=lr,
                    seed=seed, loss_fn=multitask_loss)  # fmt: skip
        with torch.no_grad():
            logits = model(data.X_test)
        acc = {t: float(accuracy_of(logits[t], y_test[t])) for t in y_test}
        trained = limit_preservation_probe(model, X_probe, tol=tol).to_dict()
        say(f"{name} trained (accuracy {acc}): {trained['verdict']}, gap {trained['rank_gap']}")
        out["variants"][name] = {**entry, "test_accuracy": acc, "train_seconds": log.seconds,
                                 "trained": trained}  # fmt: skip
    return out
