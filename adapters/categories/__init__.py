"""The paper's categories on torch networks: Param (Def 2.1) and Rep (Def 2.4) as path
categories, the learning functor (Thm 2.6) and its 2-functor check (Thm 5.3). Imports
``adapters.nets`` only. See ``docs/architecture.md``."""
