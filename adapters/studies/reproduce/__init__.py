"""``catcore reproduce``: the paper's studies end to end, resumable (``docs/reproduce.md``).

:func:`reproduce` runs the studies of :mod:`adapters.studies.reproduce.sections` in order, each
through the run's :class:`~adapters.runtime.store.Store`: a finished study (and every finished
item inside one: trained networks, barrier pairs, landscapes) is stored the moment it is
done, so an interrupted run resumes where it stopped and a second run with the same
settings recomputes nothing. It then writes ``results.json``, ``report.md`` and the figures.
"""

from adapters.studies.reproduce.plans import PLANS, Plan
from adapters.studies.reproduce.run import STUDIES, reproduce

__all__ = ["PLANS", "Plan", "STUDIES", "reproduce"]
