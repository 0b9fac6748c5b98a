"""The web UI's message catalogue: Chinese by default, English on request (``?lang=en``)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "title": "平安规划 · 工作区概览", "communities": "社区/村", "grids": "网格", "buildings": "建筑",
        "roads": "道路", "cameras": "摄像机", "targets": "重点目标", "sites": "候选点位",
        "incidents": "警情", "code": "编码", "name": "名称", "community": "社区", "kind": "类型",
        "status": "状态", "point_class": "点位类别", "category": "类别", "class": "等级",
        "floors": "层数", "use": "用途", "heading": "朝向", "height": "安装高度",
        "active": "正常", "faulty": "故障", "planned": "规划", "removed": "拆除",
        "basic": "基础网格", "dedicated": "专属网格", "legend": "图例", "no_layers": "工作区暂无图层",
        "workspace": "工作区",
        "household_title": "户况网格图", "level_red": "红色网格", "level_yellow": "黄色网格", "level_green": "绿色网格",
        "grid_labels": "网格编号", "rented_share": "出租户比例", "vacant_only": "整栋空置",
        "card_code": "网格编码", "card_name": "网格名称", "card_community": "所属社区", "card_worker": "网格员",
        "card_households": "户数", "card_residents": "人口", "card_level_text": "风险等级", "card_score": "风险分",
        "card_reasons": "主要原因", "card_to_lower_level": "降级条件", "card_seen": "视频覆盖率",
        "card_blind_m2": "盲区面积(㎡)", "card_cameras": "在用摄像机",
        "bld_name": "建筑", "bld_address": "地址", "bld_households": "户数", "bld_residents": "人口",
        "bld_rented": "出租户", "bld_vacant": "空置户", "bld_floating": "流动人口户", "bld_elderly": "独居老人户",
        "bld_rented_share_text": "出租比例",
        "coverage_title": "视频覆盖图", "views": "视野", "detect": "探测", "observe": "观察", "recognise": "识别",
        "identify": "辨认", "redundant": "双重覆盖", "blind_spots": "盲区", "covered": "已覆盖目标",
        "uncovered": "未覆盖目标", "search": "搜索网格编码、设备编码或地名", "yes": "是", "no": "否",
        "spot_intersection": "路口", "spot_street": "街道", "spot_off-street": "街道外",
        "spot_field_rank": "排名", "spot_field_kind_text": "类型", "spot_field_where": "位置",
        "spot_field_area": "面积(㎡)", "spot_field_grid_code": "网格", "spot_field_near_targets": "附近目标",
        "tgt_id": "编号", "tgt_name": "名称", "tgt_class": "等级", "tgt_required_level": "要求",
        "tgt_best_level": "实际", "tgt_covered_text": "已覆盖",
        "placement_title": "点位规划", "placement_panel": "新增摄像机", "model": "型号", "tilt": "俯角",
        "placement_hint": "在地图上点击放置摄像机", "placement_gain": "新增覆盖", "undo": "撤销上一个",
        "bullet": "枪机", "dome": "半球", "ptz": "球机", "fisheye": "鱼眼",
        "from_zoom": "显示级别 ≥", "move": "移动此摄像机", "move_hint": "拖动蓝色标记到新位置", "level": "等级",
        "m2": "㎡", "newly_covered": "新覆盖目标", "optimise": "优化选点", "greedy": "快速(贪心)", "run": "运行",
        "running": "计算中…", "accept": "采纳", "reject": "舍弃", "accepted": "已采纳为规划点位",
    },
    "en": {
        "title": "Pingan Planner · workspace overview", "communities": "Communities", "grids": "Grids",
        "buildings": "Buildings", "roads": "Roads", "cameras": "Cameras", "targets": "Key targets",
        "sites": "Candidate sites", "incidents": "Incidents", "code": "Code", "name": "Name",
        "community": "Community", "kind": "Kind", "status": "Status", "point_class": "Point class",
        "category": "Category", "class": "Class", "floors": "Floors", "use": "Use", "heading": "Heading",
        "height": "Height", "active": "active", "faulty": "faulty", "planned": "planned",
        "removed": "removed", "basic": "basic grid", "dedicated": "dedicated grid", "legend": "Legend",
        "no_layers": "The workspace has no layers yet", "workspace": "Workspace",
        "household_title": "Household grid map", "level_red": "red grids", "level_yellow": "yellow grids",
        "level_green": "green grids", "grid_labels": "Grid numbers", "rented_share": "Rented households",
        "vacant_only": "Vacant building",
        "card_code": "Grid code", "card_name": "Name", "card_community": "Community", "card_worker": "Grid worker",
        "card_households": "Households", "card_residents": "Residents", "card_level_text": "Risk level",
        "card_score": "Score", "card_reasons": "Main reasons", "card_to_lower_level": "To move down a level",
        "card_seen": "Camera coverage", "card_blind_m2": "Blind spots (m²)", "card_cameras": "Active cameras",
        "bld_name": "Building", "bld_address": "Address", "bld_households": "Households",
        "bld_residents": "Residents", "bld_rented": "Rented", "bld_vacant": "Vacant", "bld_floating": "Floating",
        "bld_elderly": "Elderly living alone", "bld_rented_share_text": "Rented share",
        "coverage_title": "Video coverage map", "views": "Views", "detect": "detect", "observe": "observe",
        "recognise": "recognise", "identify": "identify", "redundant": "Seen by ≥ 2 cameras",
        "blind_spots": "Blind spots", "covered": "Covered target", "uncovered": "Uncovered target",
        "search": "Search a grid code, camera code or place", "yes": "yes", "no": "no",
        "spot_intersection": "intersection", "spot_street": "street", "spot_off-street": "off-street",
        "spot_field_rank": "Rank", "spot_field_kind_text": "Kind", "spot_field_where": "Where",
        "spot_field_area": "Area (m²)", "spot_field_grid_code": "Grid", "spot_field_near_targets": "Near",
        "tgt_id": "Id", "tgt_name": "Name", "tgt_class": "Class", "tgt_required_level": "Required",
        "tgt_best_level": "Seen at", "tgt_covered_text": "Covered",
        "placement_title": "Camera placement", "placement_panel": "New camera", "model": "Model", "tilt": "Tilt",
        "placement_hint": "Click the map to drop a camera", "placement_gain": "Coverage added", "undo": "Undo last",
        "bullet": "bullet", "dome": "dome", "ptz": "PTZ", "fisheye": "fisheye",
        "from_zoom": "from zoom",
        "move": "Move this camera", "move_hint": "Drag the blue handle to the new place", "level": "Level",
        "m2": "m²", "newly_covered": "Newly covered", "optimise": "Optimise", "greedy": "fast (greedy)",
        "run": "Run", "running": "Running…", "accept": "Accept", "reject": "Reject", "accepted": "Accepted as",
    },
}


def lang_of(value: str | None, default: str = "zh") -> str:
    return value if value in MESSAGES else default


def t(lang: str, key: str) -> str:
    return MESSAGES.get(lang, MESSAGES["zh"]).get(key, key)
