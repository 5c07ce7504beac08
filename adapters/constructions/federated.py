"""Federated averaging as a colimit (Def 4.4), built from catcore's coproducts in Vect_R.

One round starts from the server model ``theta_r``; client ``k`` trains on its own data
and returns ``theta_k``, an update ``Delta_k = theta_k - theta_r``, a vector at
``theta_r`` (the round works in the tangent space of Param at the round-start point, which
for parameters in ``R^n`` is ``R^n`` itself). The construction, in ``Vect_R``:

- the **diagram** is discrete on the clients: object ``V_k = R`` is the line of client
  ``k``'s update (coordinate ``c`` means the point ``theta_r + c Delta_k``); the clients
  share nothing but the origin ``theta_r``, which is the zero of every ``V_k``;
- its **colimit** is the coproduct ``R^K`` with injections ``e_k`` (catcore's
  ``coproduct``, computed as a colimit by its cokernel construction);
- FedAvg's weights ``w_k = n_k / sum n`` (client data sizes) make the **cocone**
  ``l_k: V_k -> R^n``, ``c -> c w_k Delta_k``;
- the **mediating morphism** ``u = [w_1 Delta_1 | ... | w_K Delta_K]: R^K -> R^n`` is the
  unique map with ``u . e_k = l_k`` (``Colimit.universal`` checks the triangles);
- the **server model** is its image of the clients' full updates: ``theta_{r+1} = theta_r +
  u(1, ..., 1) = sum_k w_k theta_k``.

Colimit preservation by the learning functor: the linearized functor ``dL = J`` at
``theta_r`` sends the cocone to ``J l_k`` and ``u`` to ``J u``, which mediates the image
cocone, so the linearization preserves this colimit exactly (a theorem: ``J`` is linear).
What can fail is the functor itself: :func:`representation_defect` measures how far the
representation of the averaged model is from the weighted colimit of the clients'
representations. See ``docs/theory.md``, "Def 4.4".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from catcore.colimits import Cocone, Coproduct, coproduct
from catcore.instances import VectR
from catcore.instances.vect import LinearMap, Space


@dataclass(frozen=True)
class ServerStep:
    """One round's colimit: the coproduct of the clients' update lines, the FedAvg cocone
    and its mediating morphism ``u`` (``n x K``), and the server model it gives."""

    coproduct: Coproduct
    cocone: Cocone
    mediating: LinearMap
    theta: np.ndarray


def server_step(theta_r: np.ndarray, clients: Sequence[np.ndarray],
                sizes: Sequence[int]) -> ServerStep:  # fmt: skip
    """The server model of one round as the image of the colimit's mediating morphism
    (module docstring); ``clients`` are the clients' models, ``sizes`` their data sizes."""
    if len(clients) != len(sizes) or not clients:
        raise ValueError(f"need one size per client, got {len(clients)} clients, {len(sizes)}")
    if min(sizes) <= 0:
        raise ValueError(f"client data sizes must be positive, got {list(sizes)}")
    theta_r = np.asarray(theta_r, dtype=np.float64)
    w = np.asarray(sizes, dtype=np.float64) / float(sum(sizes))
    lines = [Space(1)] * len(clients)
    sum_ = coproduct(VectR, lines)
    target = Space(theta_r.size)
    legs = {k: VectR.morphism((w[k] * (np.asarray(c) - theta_r))[:, None], Space(1), target)
            for k, c in enumerate(clients)}  # fmt: skip
    cocone = Cocone(target, legs)
    u = sum_.colimit.universal(cocone)
    update = np.asarray(u.matrix, dtype=np.float64) @ np.ones(len(clients))
    return ServerStep(sum_, cocone, u, theta_r + update)


def representation_defect(
    phi: Callable[[Tensor], Tensor], theta_r: np.ndarray, clients: Sequence[np.ndarray],
    sizes: Sequence[int], theta_next: np.ndarray,
) -> dict[str, float]:  # fmt: skip
    """How far the representation of the averaged model is from the weighted colimit of
    the clients' representations: ``|phi(theta_{r+1}) - phi(theta_r) - sum_k w_k
    (phi(theta_k) - phi(theta_r))|`` relative to the norm of that weighted sum (0 when
    ``phi`` is affine in ``theta``: the linearized functor preserves the colimit), beside
    the client drift ``sum_k w_k |Delta_k - Delta|^2 / |Delta|^2`` (``Delta`` the server
    update)."""
    w = np.asarray(sizes, dtype=np.float64) / float(sum(sizes))

    def rep(theta: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return phi(torch.from_numpy(np.asarray(theta, dtype=np.float64))).double().numpy()

    base = rep(theta_r)
    colim = sum(wk * (rep(c) - base) for wk, c in zip(w, clients))
    gap = rep(theta_next) - base - colim
    delta = np.asarray(theta_next) - np.asarray(theta_r)
    drift = sum(wk * np.sum((np.asarray(c) - theta_r - delta) ** 2) for wk, c in zip(w, clients))
    scale = float(np.linalg.norm(colim))
    return {"defect": float(np.linalg.norm(gap)) / scale if scale > 0 else 0.0,
            "drift": float(drift / max(float(np.sum(delta**2)), 1e-300))}  # fmt: skip


def label_skew(y: Tensor, clients: int, classes_per_client: int, seed: int = 0) -> list[Tensor]:
    """Non-IID clients: client ``k`` holds the samples of ``classes_per_client`` labels,
    labels dealt round-robin from a seeded permutation, each label's samples split evenly
    among the clients that hold it. Returns index tensors that partition ``range(len(y))``
    over the labels held by some client."""
    labels = sorted(int(c) for c in torch.unique(y))
    order = np.random.default_rng(seed).permutation(labels).tolist()
    held = [[order[(k * classes_per_client + j) % len(order)] for j in range(classes_per_client)]
            for k in range(clients)]  # fmt: skip
    parts: list[list[int]] = [[] for _ in range(clients)]
    for label in labels:
        owners = [k for k in range(clients) if label in held[k]]
        idx = torch.nonzero(y == label).flatten().tolist()
        for i, chunk in enumerate(np.array_split(np.asarray(idx), max(1, len(owners)))):
            if owners:
                parts[owners[i]].extend(int(j) for j in chunk)
    return [torch.tensor(sorted(p), dtype=torch.long) for p in parts]
