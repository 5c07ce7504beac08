"""Adapters that let catcore's law suites run on other libraries' categories
(``docs/catcore.md``, "DisCoPy"). Each submodule needs its own extra."""
