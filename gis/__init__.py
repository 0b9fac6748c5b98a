"""Pure computation over GeoDataFrames, GeoSeries, arrays and scalars.

Nothing here reads files or imports :mod:`layers` or :mod:`api`.
"""
