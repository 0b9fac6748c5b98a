"""Bandwidth and storage known answers: the calculators' formula and the cited bitrate table."""

from __future__ import annotations

import pytest

from gis import storage


def test_storage_for_100_cameras_at_4_mbps_for_30_days_is_129_6_tb():
    # the IPVM / Hikvision calculator formula: TB = Mbps × 3600 × 24 × days / 8 / 10⁶
    assert 100 * storage.storage_tb(4.0, 30) == pytest.approx(129.6)
    assert storage.storage_tb(4.0, 30, share=0.25) == pytest.approx(1.296 / 4)


@pytest.mark.parametrize(("width", "height", "codec", "fps", "scene", "mbps"), [
    (1920, 1080, "H.264", 15, "medium", 2 * 1920 * 1080 / 1e6),  # the table's 2 Mbps per MP
    (2560, 1440, "H.264", 15, "medium", 2 * 2560 * 1440 / 1e6),
    (1920, 1080, "H.265", 25, "medium", 2 * 2.0736 * 25 / 15 * 0.5),
    (3840, 2160, "H.265+", 25, "high", 2 * 8.2944 * 25 / 15 * 0.35 * 1.4),
    (1920, None, "smart", 15, "low", 2 * 2.0736 * 0.35 * 0.6),  # 16:9 when the height is not known
])
def test_the_bitrate_follows_the_cited_table(width, height, codec, fps, scene, mbps):
    assert storage.bitrate_mbps(width, height, codec=codec, fps=fps, scene=scene) == pytest.approx(mbps)


def test_1080p_h265_at_25_fps_is_within_the_vendor_range():
    assert 2.0 <= storage.bitrate_mbps(1920, 1080, codec="H.265", fps=25) <= 4.0


def test_bad_inputs_are_refused_by_name():
    with pytest.raises(ValueError, match="codec"):
        storage.bitrate_mbps(1920, codec="MJPEG")
    with pytest.raises(ValueError, match="scene"):
        storage.bitrate_mbps(1920, scene="busy")
    with pytest.raises(ValueError, match="share"):
        storage.storage_tb(4.0, 30, share=1.5)


def test_storage_units_take_the_largest_of_capacity_bandwidth_and_channels():
    nvr = storage.StorageUnit("x", "x", bays=8, disk_tb=8, raid="raid5", max_in_mbps=320, channels=64)
    assert nvr.usable_tb == 56
    assert nvr.needed(tb=100, mbps=100, cameras=10) == 2  # capacity: 100 / 56
    assert nvr.needed(tb=10, mbps=700, cameras=10) == 3  # bandwidth: 700 / 320
    assert nvr.needed(tb=10, mbps=10, cameras=130) == 3  # channels: 130 / 64
    assert nvr.needed(tb=0.1, mbps=1, cameras=1) == 1 and nvr.needed(0, 0, 0) == 0
    assert storage.StorageUnit("y", "y", bays=24, disk_tb=16, raid="raid6").usable_tb == 22 * 16
