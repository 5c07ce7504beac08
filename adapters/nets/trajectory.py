"""Recorded training trajectories: checkpoints written atomically, thinned by halves to a
bounded number, and read back lazily (``docs/adapters.md``, "Training and recording").
The morphisms of Param come from here (:meth:`adapters.categories.param.Param.trajectory`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

INDEX = "trajectory.json"


STATE = "state.pt"


def atomic_save(obj: object, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_json(obj: object, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


class Trajectory:
    """Checkpoints ``theta_{s_0}, theta_{s_1}, ...`` of one run, loaded lazily.

    Each entry is a file path (a ``torch.save``'d dict with ``"theta"`` and ``"step"``) or
    an in-memory tensor. ``points()`` stacks them into ``(K, n)``.
    """

    def __init__(self, steps: list[int], items: list[Path | Tensor]) -> None:
        if len(steps) != len(items):
            raise ValueError(f"{len(steps)} steps but {len(items)} checkpoints")
        if any(b <= a for a, b in zip(steps, steps[1:])):
            raise ValueError(f"checkpoint steps must increase strictly, got {steps}")
        self.steps = list(steps)
        self._items = list(items)

    @classmethod
    def open(cls, folder: str | Path) -> Trajectory:
        """The trajectory recorded in ``folder`` (reads its ``trajectory.json`` index)."""
        folder = Path(folder)
        index = folder / INDEX
        if not index.is_file():
            raise FileNotFoundError(f"no trajectory index {INDEX} in {folder}")
        data = json.loads(index.read_text())
        return cls(data["steps"], [folder / f for f in data["files"]])

    @property
    def paths(self) -> list[Path]:
        """Checkpoint files (empty for an in-memory trajectory)."""
        return [p for p in self._items if isinstance(p, Path)]

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Tensor:
        item = self._items[i]
        if isinstance(item, Tensor):
            return item
        return torch.load(item, map_location="cpu", weights_only=True)["theta"]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def points(self) -> Tensor:
        """All checkpoints as a ``(K, n)`` tensor."""
        return torch.stack(list(self))

    def __repr__(self) -> str:
        where = "disk" if self.paths else "memory"
        return f"Trajectory(K={len(self)}, steps={self.steps[:1]}..{self.steps[-1:]}, {where})"


class Recorder:
    """Keeps at most ``keep`` evenly spaced checkpoints (thinning by halves)."""

    def __init__(self, every: int, keep: int | None, out_dir: Path | None, resume: bool) -> None:
        if every < 1:
            raise ValueError(f"record_every must be positive, got {every}")
        if keep is not None and keep < 2:
            raise ValueError(f"keep must be at least 2 (first and last), got {keep}")
        self.every, self.keep, self.out_dir = every, keep, out_dir
        self.steps: list[int] = []
        self.items: list[Path | Tensor] = []
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            if resume and (out_dir / INDEX).is_file():
                data = json.loads((out_dir / INDEX).read_text())
                self.every = data["every"]
                self.steps = data["steps"]
                self.items = [out_dir / f for f in data["files"]]

    def due(self, step: int) -> bool:
        return step % self.every == 0 and (not self.steps or step > self.steps[-1])

    def add(self, step: int, theta: Tensor) -> None:
        if self.steps and step <= self.steps[-1]:
            return
        if self.out_dir is None:
            item: Path | Tensor = theta.clone()
        else:
            item = self.out_dir / f"ckpt_{step:09d}.pt"
            atomic_save({"step": step, "theta": theta}, item)
        self.steps.append(step)
        self.items.append(item)
        if self.keep is not None and len(self.steps) > self.keep:
            self._thin()
        self._write_index()

    def _thin(self) -> None:
        """Drop every other checkpoint whose step is not a multiple of ``2 * every``
        (the first is kept; the last too, it may be the off-grid final step)."""
        self.every *= 2
        keep_idx = [
            i for i, s in enumerate(self.steps) if s % self.every == 0 or i == len(self.steps) - 1
        ]
        kept = set(keep_idx)
        dropped = [item for i, item in enumerate(self.items) if i not in kept]
        self.steps = [self.steps[i] for i in keep_idx]
        self.items = [self.items[i] for i in keep_idx]
        self._write_index()
        for item in dropped:
            if isinstance(item, Path):
                item.unlink(missing_ok=True)
        if len(self.steps) > self.keep:  # type: ignore[operator]
            self._thin()

    def _write_index(self) -> None:
        if self.out_dir is not None:
            files = [p.name for p in self.items if isinstance(p, Path)]
            atomic_json(
                {"every": self.every, "steps": self.steps, "files": files}, self.out_dir / INDEX
            )

    def trajectory(self) -> Trajectory:
        return Trajectory(self.steps, self.items)
