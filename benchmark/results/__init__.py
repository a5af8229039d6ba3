"""The results contract: what the runner writes and the report reads, defined once.

* :mod:`benchmark.results.layout`     -- the run folder (``<results>/runs/<run_id>/``), its files, the
  "finished" rule, the per-run lock and the readers.
* :mod:`benchmark.results.columns`    -- evaluate()'s score keys -> results.csv columns, and number text.
* :mod:`benchmark.results.provenance` -- versions, commit and machine recorded with every result.

Both sides import from here and from nowhere in each other, so the runner (``benchmark.sweep``) and
the report (``benchmark.report``) can change independently as long as these files hold.
"""
