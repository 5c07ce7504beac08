"""Run sizes of ``catcore reproduce``: how many networks, samples and seeds each study uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from adapters.studies.persistence_study import DEFAULT_DIM


@dataclass(frozen=True)
class Plan:
    """Sizes of one reproduction. Measured on 2 CPU cores: ``quick`` about 3 minutes,
    ``full`` about 11; ``tiny`` (a smoke test of the whole pipeline) about 25 seconds."""

    name: str
    law_examples: int
    functor_steps: int
    homotopy_networks: int
    homotopy_steps: int
    homotopy_curved: int
    persistence_networks: int
    persistence_samples: int
    persistence_radii: tuple[float, ...]
    persistence_epochs: int
    transfer_seeds: tuple[int, ...]
    transfer_epochs: int
    limits_epochs: int
    limits_probe: int = 64
    transfer_repeats: int = 1
    persistence_dim: int | None = DEFAULT_DIM
    federated_rounds: int = 10
    federated_local_steps: int = 20
    functor_cases: tuple[str, ...] = (
        "mlp (eval)", "cnn_bn (eval)", "small_resnet (eval)", "mlp+BatchNorm (train mode, control)",
    )  # fmt: skip
    eps: float = 0.1

    def __post_init__(self) -> None:
        if self.homotopy_networks < 2 or self.persistence_networks < 2:
            raise ValueError("a study needs at least 2 networks")
        if not self.eps > 0:
            raise ValueError(f"eps must be positive, got {self.eps}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


PLANS: dict[str, Plan] = {
    "tiny": Plan(
        "tiny",
        3,
        5,
        4,
        60,
        0,
        4,
        200,
        (0.1,),
        3,
        (0,),
        3,
        3,
        limits_probe=24,
        federated_rounds=2,
        federated_local_steps=5,
        functor_cases=("mlp (eval)", "mlp+BatchNorm (train mode, control)"),
    ),
    "quick": Plan(
        "quick", 20, 20, 32, 800, 3, 20, 2000, (0.03, 0.1, 0.3), 20, (0, 1, 2), 30, 30,
        transfer_repeats=3,
    ),
    "full": Plan(
        "full", 100, 40, 48, 1000, 8, 32, 5000, (0.01, 0.03, 0.1, 0.3), 40, (0, 1, 2, 3, 4), 30, 40,
        transfer_repeats=5,
        federated_rounds=20,
    ),
}
