"""The one exception type users see.

Every error caused by bad input (a missing or truncated data file, a wrong array shape, a bad CLI
value, a corrupt checkpoint) is raised as a :class:`BenchmarkError` whose message is one line naming
the problem and the fix. The command-line entry points print that line and exit with status 2
instead of showing a traceback.
"""


class BenchmarkError(Exception):
    """A user-facing error: the message names the problem and how to fix it."""


class DatasetError(BenchmarkError):
    """A dataset file is missing, truncated or not in the expected layout."""


class CheckpointError(BenchmarkError):
    """A checkpoint cannot be read or does not match the model it is loaded into."""
