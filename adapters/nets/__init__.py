"""Networks and what they are trained and evaluated on: parameter spaces, the evaluation
engine, models, data, the training loop, alignment (weight matching), landscape sampling and
the diagnosis of non-functorial modules. The lowest layer of the adapters: it imports no
other adapters package. See ``docs/architecture.md``."""
