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
    },
}


def lang_of(value: str | None, default: str = "zh") -> str:
    return value if value in MESSAGES else default


def t(lang: str, key: str) -> str:
    return MESSAGES.get(lang, MESSAGES["zh"]).get(key, key)
