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


class OutputError(BenchmarkError, OSError):
    """An output file or folder cannot be written (a file where a folder is needed, no permission,
    disk full). Also an ``OSError``, so callers that skip an optional cache on ``OSError`` still do."""


def one_line(e: BaseException) -> str:
    """The message of ``e`` on one line: messages quoting a library's error can carry its newlines."""
    return " ".join(str(e).split())
