"""Patrol planning (人防 + 技防): risk by time slot, the risk cameras leave uncovered on each street,
patrol zones (巡区), routes (巡线) as team orienteering, checkpoints (卡口) and duty levels (勤务级别).

- :mod:`gis.patrol.model`: the patrol model, a visible and versioned TOML setting.
- :mod:`gis.patrol.slots`: incidents by hour and weekday into slots; each grid's risk per slot.
- :mod:`gis.patrol.network`: the street graph, each stretch's uncovered risk, travel times per unit.
- :mod:`gis.patrol.zones`: contiguous, balanced zones along the streets of a station's area.
- :mod:`gis.patrol.routing`: routes with PyVRP, an upper bound, and the exact MILP (HiGHS) for small cases.
- :mod:`gis.patrol.checkpoints`: checkpoints that intercept the most risk-weighted traffic (FCLM).
"""
