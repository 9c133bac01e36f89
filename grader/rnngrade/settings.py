"""Names the grader shares with the processes it starts: environment variables, markers.

Every environment variable the grader reads or sets is spelled here and nowhere else. The
hidden tests' seed variable belongs to the checkers (``rnnlib.checks``): its name is imported
from there, never spelled again.
"""
from rnnlib.checks import GRADING_SEED_ENV

__all__ = ["SEED_ENV", "CONFINE_ENV", "SOCKETS_ENV", "KERNEL_LOG_ENV", "REPORT_MARK"]

#: The hidden tests' grading seed; read by the checkers in the judge's process only.
SEED_ENV = GRADING_SEED_ENV
#: JSON the pipeline hands to nbgrader's kernel manager: folders to hide, limits.
CONFINE_ENV = "RNNGRADE_CONFINE"
#: The folder in which confined kernels put their IPC sockets for one nbgrader run.
SOCKETS_ENV = "RNNGRADE_SOCKETS"
#: A file that receives what confined kernels print themselves (debugging the confinement).
KERNEL_LOG_ENV = "RNNGRADE_KERNEL_LOG"
#: Metadata key (and cell id) of the "Grading report" cell put on top of a graded notebook.
REPORT_MARK = "rnngrade-report"
