"""Names the grader shares with the processes it starts: environment variables, markers.

Every environment variable the grader reads or sets is spelled here and nowhere else. The
hidden tests' seed variable belongs to the checkers (``rnnlib.checks``): its name is imported
from there, never spelled again.
"""
from rnnlib.checks import GRADING_ENV, GRADING_SEED_ENV

__all__ = ["SEED_ENV", "GRADING_ENV", "EXECUTION_ENV", "REPORT_MARK"]

#: The hidden tests' grading seed; read by the checkers in the judge's process only.
SEED_ENV = GRADING_SEED_ENV
#: Set to "1" in the student's process: ``rnnlib.checks.grading()`` is then true, and the
#: notebooks' demonstration cells (a model trained to show its samples) run smaller.
GRADING_ENV = GRADING_ENV
#: Set to "autograde" in the student's process, as nbgrader does when it autogrades: a
#: notebook's demonstration cells may run smaller then (``if os.getenv(EXECUTION_ENV)``).
EXECUTION_ENV = "NBGRADER_EXECUTION"
#: Metadata key (and cell id) of the "Grading report" cell put on top of a graded notebook.
REPORT_MARK = "rnngrade-report"
