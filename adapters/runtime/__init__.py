"""Where work runs and where its results are kept: keyed work items, executors (in-process,
process pool, Ray) and the resumable store. Imports no other adapters package. See
``docs/architecture.md`` and ``docs/cluster.md``."""
