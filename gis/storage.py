"""Bandwidth and storage of a camera network: bitrate per camera, recording, retention, storage units.

The bitrate of a stream is estimated the way the public calculators estimate it, from a visible
table rather than a hidden constant:

- **Base bitrate** at H.264, 15 fps and medium scene activity: 2 Mbps per megapixel (1 MP 2, 2 MP 4,
  4 MP 8, 5 MP 10, 8 MP 16 Mbps), scaled linearly with the frame rate (``fps / 15``). Source: the
  AISC "CCTV Storage" calculator's published method (redzilla.aiscnet.com/en/cctv-almacenamiento);
  Huawei's storage guidance gives 4 Mbit/s as the typical 1080P bitrate
  (forum.huawei.com/enterprise/en/how-is-the-video-storage-calculated/thread/785273-887).
- **Codec factor**: H.264 1.0, H.265 0.5, H.265+ 0.35 (same source); vendors' "smart" codecs
  (Hikvision H.265+, Dahua Smart H.265+, Uniview U-Code) are taken as H.265+.
- **Scene activity**: low 0.6, medium 1.0, high 1.4 (same source).

So 1080p (1920 × 1080) H.265 at 25 fps in a medium scene is 4.15 × 25/15 × 0.5 = 3.5 Mbps, inside the
2–4 Mbps that vendor calculators give. A camera's own ``bitrate_mbps`` (from its configuration)
replaces the estimate.

Storage is the IPVM/Hikvision calculators' formula, decimal terabytes::

    TB = Mbps × 3600 × 24 × days / 8 / 10⁶

times the share of time recorded (1 for continuous recording, the activity share for event
recording). 100 cameras × 4 Mbps × 30 days = 129.6 TB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Mbps per megapixel at H.264, 15 fps, medium activity (see the module's sources)
MBPS_PER_MP = 2.0
BASE_FPS = 15.0
CODECS = {"H.264": 1.0, "H.265": 0.5, "H.265+": 0.35, "smart": 0.35}
SCENES = {"low": 0.6, "medium": 1.0, "high": 1.4}


def bitrate_mbps(width_px: float, height_px: float | None = None, *, codec: str = "H.265", fps: float = 25.0,
                 scene: str = "medium") -> float:
    """The estimated main-stream bitrate (Mbps) of a ``width_px`` × ``height_px`` stream (16:9 when the
    height is not known).

    >>> round(bitrate_mbps(1920, 1080, codec="H.265", fps=25), 2)
    3.46
    >>> round(bitrate_mbps(1920, 1080, codec="H.264", fps=15), 2)
    4.15
    """
    if codec not in CODECS:
        raise ValueError(f"unknown codec '{codec}': use {', '.join(CODECS)}")
    if scene not in SCENES:
        raise ValueError(f"unknown scene activity '{scene}': use {', '.join(SCENES)}")
    if not (width_px > 0 and fps > 0):
        raise ValueError("a stream needs a positive width and frame rate")
    height = height_px if height_px and height_px > 0 else width_px * 9 / 16
    megapixels = width_px * height / 1e6
    return MBPS_PER_MP * megapixels * (fps / BASE_FPS) * CODECS[codec] * SCENES[scene]


def storage_tb(mbps: float, days: float, share: float = 1.0) -> float:
    """Decimal terabytes that ``days`` of a ``mbps`` stream take when ``share`` of the time is recorded.

    >>> round(100 * storage_tb(4.0, 30), 1)
    129.6
    """
    if mbps < 0 or days < 0 or not 0 <= share <= 1:
        raise ValueError("bitrate and days are not negative, the recorded share is between 0 and 1")
    return mbps * 3600 * 24 * days / 8 / 1e6 * share


@dataclass(frozen=True)
class StorageUnit:
    """A recorder or storage server class: disk bays, disk size (TB), RAID, incoming bandwidth, channels.

    The figures of the packaged classes are generic (bays × disk size), not one maker's model: edit them
    (workspace setting ``storage_units``) to your tender's models.
    """

    id: str
    name: str
    bays: int
    disk_tb: float
    raid: str = "raid5"  # raid5: one disk of parity; raid6: two; none
    max_in_mbps: float = 256.0
    channels: int = 64
    price_yuan: float = 0.0

    @property
    def usable_tb(self) -> float:
        """Usable decimal TB after RAID parity (filesystem overhead is not taken off)."""
        parity = {"raid5": 1, "raid6": 2, "none": 0}[self.raid]
        return max(self.bays - parity, 0) * self.disk_tb

    def needed(self, tb: float, mbps: float, cameras: int) -> int:
        """How many units hold ``tb``, take ``mbps`` in and record ``cameras`` channels (the largest)."""
        if cameras <= 0:
            return 0
        return max(math.ceil(tb / self.usable_tb) if self.usable_tb else 0, math.ceil(mbps / self.max_in_mbps),
                   math.ceil(cameras / self.channels), 1)


#: generic classes: a 16-channel NVR with 4 bays, a 64-channel NVR with 8 bays, a 24-bay storage server
STORAGE_UNITS = (
    StorageUnit("nvr-4", "4盘位 16路 NVR", bays=4, disk_tb=8, raid="raid5", max_in_mbps=160, channels=16),
    StorageUnit("nvr-8", "8盘位 64路 NVR", bays=8, disk_tb=8, raid="raid5", max_in_mbps=320, channels=64),
    StorageUnit("cvr-24", "24盘位 存储服务器", bays=24, disk_tb=16, raid="raid6", max_in_mbps=1000, channels=256),
)
