"""Module-level work functions for the executor tests and benchmark (workers import them).

Torch and the adapters are imported inside the functions that need them, so that a worker
running only the arithmetic items starts fast. Each function appends its key to a call log
when given one (``O_APPEND`` writes of one short line are atomic), so tests can count how
often every item was computed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any


def log_call(log: str | None, key: str) -> None:
    if log is not None:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{key}\n".encode())
        finally:
            os.close(fd)


def calls(log: str | Path) -> list[str]:
    """The keys logged so far, in call order."""
    path = Path(log)
    return path.read_text().split() if path.exists() else []


def cubic(x: int, *, key: str = "", log: str | None = None, sleep: float = 0.0) -> int:
    """``x**3 - 2x``: a known answer computed the slow way."""
    log_call(log, key)
    time.sleep(sleep)
    return x**3 - 2 * x


def die_once(x: int, *, marker: str, key: str = "", log: str | None = None) -> int:
    """``cubic(x)``, but the first call (no ``marker`` file yet) kills its own process."""
    log_call(log, key)
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return cubic(x)


def fail(x: int) -> int:
    raise ValueError(f"bad input {x}")


def not_json(x: int) -> object:
    return {x}


@functools.lru_cache(maxsize=4)
def data(seed: int) -> Any:
    """The digits split (built once per worker process)."""
    from adapters.nets.data import digits

    return digits(seed=seed)


@functools.lru_cache(maxsize=4)
def engine(hidden: tuple[int, ...], seed: int) -> Any:
    """A training-loss engine for digits MLPs of width ``hidden`` (once per worker)."""
    from adapters.nets.engine import Engine
    from adapters.nets.models import mlp

    d = data(seed)
    return Engine(mlp(64, hidden, 10), d.X_train, d.y_train)


def train_net(seed: int, hidden: tuple[int, ...], steps: int, data_seed: int = 0) -> dict:
    """Train one digits MLP from ``seed``; final figures and the parameters."""
    import torch

    from adapters.nets.models import mlp
    from adapters.nets.training import train

    torch.manual_seed(seed)
    model = mlp(64, tuple(hidden), 10)
    res = train(model, data(data_seed), optimizer="sgd", lr=0.1, batch_size=64, steps=steps,
                seed=seed)  # fmt: skip
    theta = res.theta.detach().to(torch.float32).contiguous()
    return {
        "train_loss": res.train_loss,
        "test_acc": res.test_acc,
        "theta_sha": hashlib.sha256(theta.numpy().tobytes()).hexdigest(),
        "theta": theta.tolist(),
    }


def pair_barrier(a: list[float], b: list[float], hidden: tuple[int, ...], data_seed: int = 0,
                 grid: int = 9) -> dict:  # fmt: skip
    """The linear loss barrier between two parameter vectors (training loss)."""
    import torch

    from adapters.constructions.barrier import BarrierSettings, loss_barrier

    ta, tb = torch.tensor(a), torch.tensor(b)
    r = loss_barrier(engine(tuple(hidden), data_seed), ta, tb, settings=BarrierSettings(grid=grid))
    return {"height": r.height, "t": r.t, "evaluations": r.evaluations}


def pid_then_sleep(log: str, seconds: float) -> int:
    """Append this process's pid to ``log``, then sleep: a worker that stays busy."""
    log_call(log, str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()
