"""The paper's algorithms as constructions on the categories: loss barriers along Param
morphisms, homotopy classes, Bezier curves, landscape persistence, pullback transfer and the
multi-task limit probe. Imports ``adapters.nets``, ``adapters.categories`` and
``adapters.runtime``. See ``docs/architecture.md``."""
