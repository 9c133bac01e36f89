"""nbgrader configuration for the course (the repository root is the course directory).

solutions/<assignment>/<assignment>.ipynb  -- nbgrader "source": solutions + visible and hidden tests
exercises/<assignment>/<assignment>.ipynb  -- nbgrader "release": what students get (generated)

Grading folders (submitted/, autograded/, feedback/) and the gradebook database are created
by the instructor's grading command and are never committed (see .gitignore).
"""
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "rnns-simplified"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Only notebooks are part of an assignment; nothing else in solutions/ may reach students.
c.CourseDirectory.include = ["*.ipynb"]
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py", "*.md"]

# Students' notebooks start with a clean slate: no stored outputs in the release.
c.ClearOutput.enabled = True
# The student's cell shows this when not yet written.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# A cell that loops forever must not stall a whole class.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
