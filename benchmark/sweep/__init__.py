"""Sweep layer: plan runs (``plan``), name them by a hash of their config, execute them on an
executor (``executors``: local processes or Slurm), one run at a time through ``job.run_one``."""
