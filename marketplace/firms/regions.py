"""Where a firm is registered: Fujian's prefecture-level regions (GB/T 2260), Pingtan, other."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    """A region a firm can be registered in, named in Chinese and English."""

    code: str
    name_zh: str
    name_en: str


OTHER_REGION_CODE = "000000"

REGIONS: tuple[Region, ...] = (
    Region("350100", "福州市", "Fuzhou"),
    # Pingtan is a county of Fuzhou by code, but firms there register with the pilot zone.
    Region("350128", "平潭综合实验区", "Pingtan Comprehensive Pilot Zone"),
    Region("350200", "厦门市", "Xiamen"),
    Region("350300", "莆田市", "Putian"),
    Region("350400", "三明市", "Sanming"),
    Region("350500", "泉州市", "Quanzhou"),
    Region("350600", "漳州市", "Zhangzhou"),
    Region("350700", "南平市", "Nanping"),
    Region("350800", "龙岩市", "Longyan"),
    Region("350900", "宁德市", "Ningde"),
    Region(OTHER_REGION_CODE, "其他地区", "Other region"),
)

_BY_CODE = {region.code: region for region in REGIONS}


def region_by_code(code: str) -> Region | None:
    """Return the region with this code, or None when there is none."""
    return _BY_CODE.get(code)
