"""The studies behind ``catcore reproduce``: ensembles, fits, figures and the report.
Imports the constructions and everything below them, never the command line. See
``docs/architecture.md``."""
