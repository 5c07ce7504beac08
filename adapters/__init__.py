"""Torch instances of the paper's categories and the algorithms derived from them.

``catcore`` is the framework-free layer; everything that touches PyTorch lives here.
See ``docs/adapters.md``.
"""
