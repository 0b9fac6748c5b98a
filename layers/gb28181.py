"""GB/T 28181 device codes (20 digits: centre 8, from the admin code; industry 2; type 3; serial 7) and the
GB/T 2260 province codes that admin codes and centre codes begin with."""

from __future__ import annotations

PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()  # noqa: SIM905
)
GB28181_CAMERA_TYPES = {"131": "camera", "132": "IP camera"}
GB28181_OTHER_TYPES = {"111": "DVR", "112": "video server", "113": "encoder", "114": "decoder",
                       "118": "NVR", "200": "centre server", "215": "business group", "216": "virtual group"}


def check_camera_code(code: str) -> str | None:
    """Why ``code`` is not a GB/T 28181 camera code, or None if it is one.

    Codes are 20 digits: centre (8, beginning with the admin code), industry (2),
    type (3: 131 camera, 132 IP camera), serial (7).
    """
    if len(code) != 20:
        return f"GB/T 28181 codes have 20 digits, this has {len(code)}"
    if code[:2] not in PROVINCE_CODES:
        return f"the centre code {code[:8]} does not start with a province code"
    kind = code[10:13]
    if kind not in GB28181_CAMERA_TYPES:
        what = GB28181_OTHER_TYPES.get(kind, "not a camera type")
        return f"device type {kind} ({what}) is not a camera (131 or 132)"
    return None
