"""``python -m proofs_check``: run the proof obligations (see ``docs/theory.md``)."""

import sys

from proofs_check.runner import main

sys.exit(main())
