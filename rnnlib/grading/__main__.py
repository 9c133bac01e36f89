"""``python -m rnnlib.grading``: grade a class (see :mod:`rnnlib.grading.pipeline`)."""
import sys

from rnnlib.grading.pipeline import main

sys.exit(main())
