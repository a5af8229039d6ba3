#!/usr/bin/env python
"""The main job: ``python run_all.py ...`` is ``python -m benchmark run ...`` (see :mod:`benchmark.cli.run`).

python run_all.py --betas 1 4 16                  # quick preset: < 20 min on a 2-core CPU
python run_all.py --preset paper --betas 1 4 16   # the reference protocol (GPU)
"""

import sys

from benchmark.cli.run import main

if __name__ == "__main__":
    sys.exit(main())
