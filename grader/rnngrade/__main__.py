"""``python -m rnngrade``: grade a class (see :mod:`rnngrade.pipeline`)."""
import sys

from rnngrade.pipeline import main

sys.exit(main())
