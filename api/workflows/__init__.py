"""The analyses as a user runs them: read the workspace, compute with :mod:`gis`, write the result.

One module per analysis (views, coverage, risk, grids, placement, what-if, settings); the CLI, the
HTTP routes, the jobs and the notebooks call these functions, which hold no maths of their own.
:mod:`api.workflows.parallel` runs the heavy ones on a dask cluster, beside the single-process path.
"""
