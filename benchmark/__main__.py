"""``python -m benchmark COMMAND``: the same command line as the console script ``disentangle-bench``."""

import sys

from benchmark.cli import main

sys.exit(main(prog="python -m benchmark"))
