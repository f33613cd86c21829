"""runs: result files with provenance, written atomically (``files``), and sweeps on local processes or Dask
(``sweep``).

May import every layer but ``cli``.
"""
