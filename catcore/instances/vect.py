"""Finite-dimensional vector spaces: exact over Q (sympy) and numeric over floats (numpy).

Objects are dimensions (``Space(n)``); a morphism ``Space(m) -> Space(n)`` is an ``n x m``
matrix acting on column vectors, so ``f >> g`` has matrix ``G @ F``. Every finite limit is
the kernel of the diagram's constraint matrix inside the product (direct sum)
``(+)_i D(i)``: a family ``(x_i)`` with ``D(e) x_u = x_v`` on every edge ``e: u -> v``.
Every finite colimit is the cokernel of the relation matrix, the quotient of the direct
sum by the span of ``i_v D(e) x - i_u x``. See ``docs/catcore.md``, "Vect".

>>> import sympy
>>> from catcore.instances import VectQ
>>> f = VectQ.morphism(sympy.Matrix([[1, 1]]))
>>> VectQ.morphism(sympy.Matrix([[2]])) @ f == VectQ.morphism(sympy.Matrix([[2, 2]]))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from scipy.linalg import subspace_angles

from catcore.category import Category, Morphism
from catcore.colimits import Cocone, Colimit
from catcore.equality import Tolerance
from catcore.errors import MorphismError
from catcore.limits import Cone, Diagram, Limit


@dataclass(frozen=True)
class Space:
    """The vector space ``K^dim`` (``K`` is the category's field)."""

    dim: int

    def __post_init__(self) -> None:
        if not isinstance(self.dim, int) or self.dim < 0:
            raise MorphismError(f"dimension must be a non-negative int, got {self.dim!r}")


class LinearMap(Morphism):
    """A linear map given by its matrix (``cod.dim x dom.dim``)."""

    def __init__(
        self, category: _VectBase, matrix: Any, dom: Space | None = None, cod: Space | None = None
    ):
        self.category = category
        self.matrix = category.coerce(matrix)
        rows, cols = self.matrix.shape
        self._dom = dom or Space(int(cols))
        self._cod = cod or Space(int(rows))
        if (rows, cols) != (self._cod.dim, self._dom.dim):
            raise MorphismError(
                f"matrix of shape {(rows, cols)} does not map {self._dom} -> {self._cod}"
            )

    @property
    def dom(self) -> Space:
        return self._dom

    @property
    def cod(self) -> Space:
        return self._cod

    def array(self) -> np.ndarray:
        return np.asarray(self.matrix, dtype=float).reshape(self.cod.dim, self.dom.dim)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, LinearMap)
            and other.category is self.category
            and (self.dom, self.cod) == (other.dom, other.cod)
            and self.category.matrices_equal(self.matrix, other.matrix)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LinearMap({self.dom.dim}->{self.cod.dim}, {self.matrix.tolist()})"


def _offsets(diagram: Diagram) -> tuple[dict, int]:
    """Where each node's block starts in ``(+)_i D(i)``, and the total dimension."""
    offsets, total = {}, 0
    for n in diagram.nodes:
        offsets[n], total = total, total + diagram.objects[n].dim
    return offsets, total


class _VectBase(Category):
    def is_object(self, x: Any) -> bool:
        return isinstance(x, Space)

    def morphism(
        self, matrix: Any, dom: Space | None = None, cod: Space | None = None
    ) -> LinearMap:
        """The map with ``matrix``; give ``dom``/``cod`` when a dimension is zero."""
        return LinearMap(self, matrix, dom, cod)

    def identity(self, obj: Space) -> LinearMap:
        return LinearMap(self, self.eye(obj.dim), obj, obj)

    def _compose(self, f: LinearMap, g: LinearMap) -> LinearMap:
        return LinearMap(self, g.matrix @ f.matrix, f.dom, g.cod)

    def limit(self, diagram: Diagram) -> Limit:
        offsets, total = _offsets(diagram)
        constraint = self.zeros(0, total)
        for u, v, k in diagram.edges:
            row = self.zeros(diagram.objects[v].dim, total)
            f = diagram.arrows[(u, v, k)].matrix
            row[:, offsets[u] : offsets[u] + f.shape[1]] = f
            row[:, offsets[v] : offsets[v] + f.shape[0]] -= self.eye(f.shape[0])
            constraint = self.vstack(constraint, row)
        basis = self.kernel(constraint, total)
        apex = Space(int(basis.shape[1]))
        legs = {
            n: LinearMap(
                self,
                basis[offsets[n] : offsets[n] + diagram.objects[n].dim, :],
                apex,
                diagram.objects[n],
            )
            for n in diagram.nodes
        }

        def mediate(cone: Cone) -> LinearMap:
            stacked = self.zeros(total, cone.apex.dim)
            for n in diagram.nodes:
                stacked[offsets[n] : offsets[n] + diagram.objects[n].dim, :] = cone.legs[n].matrix
            return LinearMap(self, self.solve(basis, stacked), cone.apex, apex)

        return Limit(diagram, Cone(apex, legs), mediate)

    def colimit(self, diagram: Diagram) -> Colimit:
        offsets, total = _offsets(diagram)
        columns = self.zeros(total, 0)
        for u, v, k in diagram.edges:
            f = diagram.arrows[(u, v, k)].matrix
            block = self.zeros(total, f.shape[1])
            block[offsets[v] : offsets[v] + f.shape[0], :] = f
            block[offsets[u] : offsets[u] + f.shape[1], :] -= self.eye(f.shape[1])
            columns = self.hstack(columns, block)
        quotient = self.kernel(columns.T, total).T  # rows span the annihilator of the relations
        apex = Space(int(quotient.shape[0]))
        legs = {
            n: LinearMap(
                self,
                quotient[:, offsets[n] : offsets[n] + diagram.objects[n].dim],
                diagram.objects[n],
                apex,
            )
            for n in diagram.nodes
        }

        def mediate(cocone: Cocone) -> LinearMap:
            stacked = self.zeros(cocone.apex.dim, total)
            for n in diagram.nodes:
                stacked[:, offsets[n] : offsets[n] + diagram.objects[n].dim] = cocone.legs[n].matrix
            return LinearMap(self, self.solve(quotient.T, stacked.T).T, apex, cocone.apex)

        return Colimit(diagram, Cocone(apex, legs), mediate)


class VectQCategory(_VectBase):
    """Vector spaces over the rationals, exact (sympy ``Rational`` entries only)."""

    name = "Vect_Q"

    def coerce(self, matrix: Any) -> sympy.Matrix:
        m = sympy.Matrix(matrix)
        for (i, j), x in np.ndenumerate(np.array(m.tolist(), dtype=object).reshape(m.shape)):
            if not isinstance(x, sympy.Rational):
                raise MorphismError(f"entry {x!r} at {(i, j)} is not rational (use sympy.Rational)")
        return m

    def matrices_equal(self, a: sympy.Matrix, b: sympy.Matrix) -> bool:
        return a.shape == b.shape and (a - b).is_zero_matrix is True

    def eye(self, n: int) -> sympy.Matrix:
        return sympy.eye(n)

    def zeros(self, r: int, c: int) -> sympy.Matrix:
        return sympy.zeros(r, c)

    def vstack(self, a: sympy.Matrix, b: sympy.Matrix) -> sympy.Matrix:
        return a.col_join(b)

    def hstack(self, a: sympy.Matrix, b: sympy.Matrix) -> sympy.Matrix:
        return a.row_join(b)

    def kernel(self, m: sympy.Matrix, total: int) -> sympy.Matrix:
        if m.rows == 0:
            return sympy.eye(total)
        vecs = m.nullspace()
        return sympy.Matrix.hstack(*vecs) if vecs else sympy.zeros(total, 0)

    def solve(self, basis: sympy.Matrix, rhs: sympy.Matrix) -> sympy.Matrix:
        if basis.cols == 0:
            return sympy.zeros(0, rhs.cols)
        x = (basis.T * basis).inv() * basis.T * rhs
        if basis * x != rhs:
            raise MorphismError("the (co)cone legs do not factor through the (co)limit")
        return x

    def is_iso(self, f: LinearMap) -> bool:
        return f.dom.dim == f.cod.dim and f.matrix.rank() == f.dom.dim

    def iso_defect(self, f: LinearMap) -> dict[str, Any]:
        rank = f.matrix.rank() if min(f.matrix.shape) else 0
        return {
            "is_iso": self.is_iso(f),
            "rank": rank,
            "dom": f.dom.dim,
            "cod": f.cod.dim,
            "rank_gap": max(f.dom.dim, f.cod.dim) - rank,
        }


class NumericVectCategory(_VectBase):
    """Vector spaces over the reals in float64; ranks and kernels by SVD with tolerance ``tol``.

    A singular value counts as zero when it is at most ``tol`` times the largest one (or
    ``tol`` itself for an all-small matrix). Arrows compare with :class:`Tolerance`.
    """

    def __init__(self, tol: float = 1e-9, rtol: float = 1e-7, atol: float = 1e-9):
        self.tol = tol
        self.name = f"Vect_R(tol={tol:g})"
        self.equality = Tolerance(rtol=rtol, atol=atol)

    def coerce(self, matrix: Any) -> np.ndarray:
        m = np.array(matrix, dtype=np.float64)
        if m.ndim != 2:
            raise MorphismError(f"a linear map needs a 2-D matrix, got shape {m.shape}")
        if not np.isfinite(m).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(m))[0])
            raise MorphismError(f"entry {m[bad]!r} at {bad} is not finite")
        return m

    def matrices_equal(self, a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and bool(np.array_equal(a, b))

    def eye(self, n: int) -> np.ndarray:
        return np.eye(n)

    def zeros(self, r: int, c: int) -> np.ndarray:
        return np.zeros((r, c))

    def vstack(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.vstack([a, b])

    def hstack(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.hstack([a, b])

    def rank(self, m: np.ndarray) -> int:
        if min(m.shape) == 0:
            return 0
        s = np.linalg.svd(m, compute_uv=False)
        return int((s > self.tol * max(s[0], 1.0)).sum())

    def kernel(self, m: np.ndarray, total: int) -> np.ndarray:
        if m.shape[0] == 0:
            return np.eye(total)
        _, s, vt = np.linalg.svd(m, full_matrices=True)
        r = int((s > self.tol * max(s[0] if s.size else 0.0, 1.0)).sum())
        return vt[r:].T.copy()

    def solve(self, basis: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        if basis.shape[1] == 0:
            return np.zeros((0, rhs.shape[1]))
        return np.linalg.lstsq(basis, rhs, rcond=None)[0]

    def is_iso(self, f: LinearMap) -> bool:
        return f.dom.dim == f.cod.dim and self.rank(f.matrix) == f.dom.dim

    def iso_defect(self, f: LinearMap) -> dict[str, Any]:
        s = np.linalg.svd(f.matrix, compute_uv=False) if min(f.matrix.shape) else np.zeros(0)
        rank = self.rank(f.matrix)
        return {
            "is_iso": self.is_iso(f),
            "rank": rank,
            "dom": f.dom.dim,
            "cod": f.cod.dim,
            "rank_gap": max(f.dom.dim, f.cod.dim) - rank,
            "singular_values": s.tolist(),
        }

    def preservation_defect(self, image_cone: Cone, target: Limit) -> dict[str, Any]:
        """Principal angles between the image cone's and the limit's subspaces of the product."""
        nodes = target.diagram.nodes
        if not nodes:
            return {"principal_angles": []}
        a = np.vstack([image_cone.legs[n].matrix for n in nodes])
        b = np.vstack([target.leg(n).matrix for n in nodes])
        if min(a.shape) == 0 or min(b.shape) == 0:
            return {"principal_angles": []}
        return {"principal_angles": subspace_angles(a, b).tolist()}


VectQ = VectQCategory()
VectR = NumericVectCategory()
