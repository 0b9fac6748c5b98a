"""The data model: one schema per layer (see DESIGN.md, "The data model").

A schema says which fields a layer has, which are required, their type, the values
allowed, the range of numbers, the geometry type, and the column headers users
really have (Chinese inventories say 经度, 设备编码, 安装高度 …). Validation
(:mod:`layers.validate`) reads these tables; nothing else hard-codes a field name.
"""

from __future__ import annotations

import re

from layers.errors import UnknownLayerError
from layers.fields import Field, LayerSchema, choices

CAMERA_KINDS = choices({
    "bullet": ("枪机", "枪式", "枪式摄像机", "固定枪机", "box", "fixed"),
    "dome": ("半球", "半球机", "固定半球", "半球摄像机"),
    "ptz": ("球机", "云台", "快球", "高速球", "球型摄像机", "云台摄像机", "panning", "speed dome"),
    "fisheye": ("鱼眼", "全景", "全景摄像机", "鱼眼摄像机", "panoramic", "360"),
})
CAMERA_STATUS = choices({
    "active": ("正常", "在线", "运行", "在用", "启用", "online", "ok"),
    "faulty": ("故障", "离线", "损坏", "offline", "broken"),
    "planned": ("规划", "拟建", "待建", "计划", "在建", "proposed"),
    "removed": ("拆除", "停用", "废弃", "disabled"),
})
CODECS = choices({
    "H.264": ("h264", "avc", "h.264/avc"),
    "H.265": ("h265", "hevc", "h.265/hevc"),
    "H.265+": ("h265+", "h.265+"),
    "smart": ("smart", "智能编码", "smart h.265+", "smart h.265", "u-code", "ucode"),
})
RECORDING_MODES = choices({
    "continuous": ("连续", "全天", "24小时", "定时", "全时"),
    "event": ("事件", "移动侦测", "报警", "motion", "alarm"),
})
POINT_CLASSES = choices({
    "1": ("一类", "一类点", "一类点位", "i", "class1"),
    "2": ("二类", "二类点", "二类点位", "ii", "class2"),
    "3": ("三类", "三类点", "三类点位", "iii", "class3"),
})
DORI_CHOICES = choices({
    "detect": ("探测", "检测", "发现", "d"),
    "observe": ("观察", "o"),
    "recognise": ("识别", "recognize", "r"),
    "identify": ("辨认", "确认", "辨识", "i"),
})
CAPTURE_KINDS = choices({
    "face": ("人脸", "人脸抓拍", "人脸识别", "人像", "人像抓拍"),
    "plate": ("车牌", "车牌识别", "车牌抓拍", "卡口", "lpr", "anpr"),
})
GRID_KINDS = choices({
    "basic": ("基础网格", "基础", "综合网格"),
    "dedicated": ("专属网格", "专属", "专业网格"),
})
BUILDING_USES = choices({
    "residential": ("住宅", "居住", "民居", "apartments", "house", "detached", "dormitory"),
    "commercial": ("商业", "商铺", "商场", "retail", "shop", "supermarket"),
    "office": ("办公", "写字楼"),
    "public": ("公共", "公共建筑", "civic", "government", "public building"),
    "school": ("学校", "教育", "kindergarten", "university", "college"),
    "hospital": ("医院", "医疗", "clinic"),
    "industrial": ("工业", "厂房", "仓库", "warehouse", "factory"),
    "other": ("其他", "其它", "yes", "unknown", "未知"),
})
ROAD_CLASSES = choices({
    "primary": ("主干路", "主干道", "trunk", "motorway", "primary_link", "trunk_link"),
    "secondary": ("次干路", "次干道", "secondary_link"),
    "tertiary": ("支路", "tertiary_link", "unclassified"),
    "residential": ("小区道路", "街巷", "居住区道路", "living_street"),
    "service": ("巷道", "内部道路", "服务道路"),
    "footway": ("人行道", "步行道", "pedestrian", "path", "steps", "cycleway", "track"),
    "other": ("其他", "其它", "road", "bridleway"),
})
TARGET_CATEGORIES = choices({
    "school": ("学校", "中学", "小学"),
    "kindergarten": ("幼儿园",),
    "hospital": ("医院", "卫生院", "诊所", "clinic"),
    "bank": ("银行", "atm", "网点"),
    "market": ("市场", "农贸市场", "集市", "marketplace", "supermarket", "商场"),
    "station": ("车站", "汽车站", "火车站", "公交站", "bus_station", "railway_station"),
    "government": ("政府", "机关", "街道办", "办事处", "townhall"),
    "police": ("派出所", "公安", "警务室"),
    "entrance": ("出入口", "小区出入口", "大门", "门口", "gate"),
    "square": ("广场", "plaza"),
    "park": ("公园", "游园"),
    "intersection": ("路口", "交叉口", "十字路口", "crossing"),
    "enterprise": ("企业", "工厂", "公司"),
    "venue": ("场馆", "影剧院", "体育馆", "theatre", "cinema", "stadium"),
    "shop": ("商铺", "商店", "网吧", "酒吧", "bar", "pub", "cafe", "restaurant"),
    "other": ("其他", "其它"),
})
SITE_KINDS = choices({
    "pole": ("立杆", "杆件", "电杆", "路灯杆", "监控杆"),
    "wall": ("墙面", "外墙", "挂墙"),
    "roof": ("屋顶", "楼顶"),
    "other": ("其他", "其它"),
})
SUBGRID_LEVELS = choices({
    "group": ("组格",),
    "patch": ("片格",),
})
STATION_KINDS = choices({
    "station": ("派出所", "police_station", "公安派出所"),
    "post": ("警务室", "社区警务室", "警务站", "police_post", "治安岗亭", "岗亭"),
})
INCIDENT_CATEGORIES = choices({
    "theft": ("盗窃", "偷盗", "扒窃"),
    "fraud": ("诈骗", "电信诈骗"),
    "dispute": ("纠纷", "矛盾纠纷", "邻里纠纷"),
    "public_order": ("治安", "治安案件", "打架", "斗殴"),
    "traffic": ("交通", "交通事故"),
    "robbery": ("抢劫", "抢夺"),
    "assault": ("伤害", "故意伤害"),
    "drugs": ("涉毒", "毒品"),
    "fire": ("火灾", "消防"),
    "other": ("其他", "其它"),
})
SEVERITIES = choices({
    "minor": ("一般", "轻微", "普通"),
    "serious": ("严重", "重大", "较大", "恶性"),
})
HOUSEHOLD_TAGS = choices({
    "常住": ("resident", "常住户", "自住"),
    "出租": ("rented", "出租户", "出租房", "租户"),
    "空置": ("vacant", "空置房", "空房"),
    "流动": ("floating", "流动人口", "外来"),
    "独居老人": ("elderly_alone", "空巢老人", "孤寡老人"),
    "留守儿童": ("left_behind_children", "留守"),
    "残疾": ("disabled", "残疾人"),
    "低保": ("low_income", "低保户", "困难户"),
    "商户": ("business", "经营户", "门店"),
})

_ID = Field("id", "str", True, "编号", ("编号", "id", "fid", "objectid", "序号", "编码", "code"))
_NAME = Field("name", "str", False, "名称", ("名称", "name"))
_ADDRESS = Field("address", "str", False, "地址", ("地址", "安装地址", "详细地址", "位置", "address"))
_HEIGHT = ("安装高度", "高度", "杆高", "height", "height_m", "挂高")

SCHEMAS: dict[str, LayerSchema] = {s.name: s for s in [
    LayerSchema("communities", "社区/村", ("Polygon", "MultiPolygon"), id_field="code", fields=(
        Field("code", "code", True, "社区编码", ("社区编码", "村居编码", "统计用区划代码", "编码", "区划代码12位"),
              hint="12-digit statistical code (GB/T 2260 county + township + village)"),
        Field("name", "str", True, "社区名称", ("社区名称", "村居名称", "社区", "名称")),
        Field("township", "str", False, "街镇", ("街道", "乡镇", "街镇", "所属街道")),
        Field("admin_code", "code", False, "区划代码", ("区划代码", "行政区划代码", "行政区划", "adcode")),
    )),
    LayerSchema("grids", "网格", ("Polygon", "MultiPolygon"), id_field="code", fields=(
        Field("code", "code", True, "网格编码", ("网格编码", "网格编号", "编码"),
              hint="community code + 3-digit serial (15 digits)"),
        Field("name", "str", False, "网格名称", ("网格名称", "名称")),
        Field("community_code", "code", True, "社区编码", ("社区编码", "所属社区编码", "村居编码")),
        Field("kind", "enum", False, "网格类型", ("网格类型", "类型"), GRID_KINDS),
        Field("worker_id", "worker", False, "网格员编号", ("网格员编号", "网格员", "网格员工号")),
    )),
    LayerSchema("buildings", "建筑", ("Polygon", "MultiPolygon"), fields=(
        Field("id", "str", True, "建筑编号", ("建筑编号", "楼栋编号", "楼号", "编号")),
        Field("name", "str", False, "名称", ("名称", "楼栋名称", "建筑名称")),
        Field("height_m", "float", False, "建筑高度", ("建筑高度", "高度", "height"), min=0, max=700,
              hint="building height in metres"),
        Field("floors", "int", False, "层数", ("层数", "楼层数", "楼层", "building:levels"), min=1, max=200),
        Field("use", "enum", False, "用途", ("用途", "建筑用途", "性质", "building"), BUILDING_USES),
        _ADDRESS,
    )),
    LayerSchema("households", "户况", None, fields=(
        Field("id", "str", True, "户编号", ("户编号", "编号", "户号")),
        Field("building_id", "str", True, "楼栋编号", ("楼栋编号", "建筑编号", "楼号")),
        Field("unit", "str", False, "单元", ("单元", "单元号"), hint="the building's entrance (单元), e.g. 2单元"),
        Field("floor", "int", False, "楼层", ("楼层", "所在楼层", "层", "层次"), min=-5, max=200,
              hint="the floor the household lives on (1 = ground; negative: basement)"),
        Field("room", "str", False, "房号", ("房号", "房间号", "门牌", "门牌号", "室"), hint="e.g. 301"),
        Field("members", "int", False, "人数", ("人数", "家庭人数", "户人数", "人口"), min=0, max=60),
        Field("tags", "tags", False, "户况标签", ("户况", "标签", "户况标签", "类别"), HOUSEHOLD_TAGS),
    )),
    LayerSchema("roads", "道路", ("LineString", "MultiLineString"), fields=(
        Field("id", "str", True, "道路编号", ("道路编号", "编号")),
        Field("name", "str", False, "道路名称", ("道路名称", "路名", "名称")),
        Field("class", "enum", False, "道路等级", ("道路等级", "等级", "highway", "road_class"), ROAD_CLASSES),
        Field("width_m", "float", False, "路宽", ("路宽", "宽度", "width"), min=0, max=200),
    )),
    LayerSchema("targets", "重点目标", ("Point", "Polygon", "MultiPolygon"), fields=(
        Field("id", "str", True, "目标编号", ("目标编号", "编号")),
        Field("name", "str", True, "目标名称", ("目标名称", "名称", "name")),
        Field("category", "enum", True, "类别", ("类别", "目标类别", "场所类型", "category"),
              TARGET_CATEGORIES),
        Field("class", "enum", True, "点位类别", ("点位类别", "目标等级", "等级", "class"), POINT_CLASSES),
        Field("required_level", "enum", False, "图像要求", ("图像要求", "清晰度要求", "dori", "要求等级"),
              DORI_CHOICES),
        Field("capture", "enum", False, "抓拍要求", ("抓拍要求", "抓拍", "抓拍类型", "capture"), CAPTURE_KINDS,
              hint="face (人脸) or plate (车牌)"),
        Field("approach_deg", "float", False, "通行方向", ("通行方向", "行进方向", "来车方向", "approach"),
              min=0, max=360, hint="compass bearing people or vehicles move in (0 = north, 90 = east): "
                                   "faces and front plates point this way"),
        _ADDRESS,
    ), needs=(("capture", "approach_deg", "give the direction people or vehicles move in (通行方向, 0–360°): "
               "a face or plate can only be captured from ahead"),)),
    LayerSchema("cameras", "摄像机", ("Point",), fields=(
        Field("id", "str", True, "设备编码", ("设备编码", "国标编码", "编码", "设备编号", "camera_id", "code"),
              hint="GB/T 28181 20-digit code when known"),
        Field("name", "str", False, "设备名称", ("设备名称", "点位名称", "名称")),
        Field("kind", "enum", False, "摄像机类型", ("摄像机类型", "设备类型", "类型", "camera:type", "camera_type"),
              CAMERA_KINDS),
        Field("heading_deg", "float", False, "朝向", ("朝向", "方向", "方位角", "朝向角", "heading", "direction",
                                                    "camera:direction"), min=0, max=360,
              hint="compass bearing in degrees, 0 = north, 90 = east"),
        Field("hfov_deg", "float", False, "水平视场角", ("水平视场角", "视场角", "hfov", "fov"), min=1, max=360),
        Field("focal_mm", "float", False, "焦距", ("焦距", "镜头", "focal_length", "focal"), min=0.5, max=2000),
        Field("sensor", "str", False, "靶面尺寸", ("靶面尺寸", "靶面", "传感器", "sensor_format")),
        Field("resolution_px", "int", False, "水平分辨率", ("分辨率", "水平分辨率", "resolution", "像素"),
              min=160, max=16384, hint="horizontal pixels, e.g. 1920 (or '1920x1080')"),
        Field("resolution_v_px", "int", False, "垂直分辨率", ("垂直分辨率",), min=120, max=16384),
        Field("height_m", "float", False, "安装高度", _HEIGHT, min=0, max=150,
              hint="mounting height above ground in metres"),
        Field("tilt_deg", "float", False, "俯角", ("俯角", "俯仰角", "倾角", "下倾角", "tilt"), min=-90, max=90,
              hint="downward tilt below the horizon in degrees"),
        Field("status", "enum", False, "状态", ("状态", "设备状态", "运行状态"), CAMERA_STATUS),
        Field("point_class", "enum", False, "点位类别", ("点位类别", "点位类型", "建设类别", "点位分类"),
              POINT_CLASSES),
        Field("grid_code", "code", False, "网格编码", ("网格编码", "所属网格")),
        Field("community_name", "str", False, "社区名称", ("社区名称", "所属社区")),
        Field("ir_range_m", "float", False, "补光距离", ("补光距离", "红外距离", "红外补光距离", "ir_range", "ir"),
              min=0, max=1000, hint="infrared or white-light reach in metres (0: no lamp)"),
        Field("min_lux", "float", False, "最低照度", ("最低照度", "min_lux", "照度"), min=0, max=1000,
              hint="minimum illumination in lx, e.g. 0.005 for a colour camera"),
        Field("model", "str", False, "设备型号", ("设备型号", "型号", "产品型号", "规格型号", "model")),
        Field("presets", "presets", False, "预置位", ("预置位", "巡航预置位", "预置点", "巡航", "presets", "tour"),
              hint="a PTZ tour: pan/tilt/hfov/dwell per preset, e.g. 0/15/58/30; 120/10/20/60"),
        Field("codec", "enum", False, "编码格式", ("编码格式", "视频编码", "编码方式", "codec"), CODECS),
        Field("fps", "float", False, "帧率", ("帧率", "fps", "frame_rate"), min=1, max=120),
        Field("bitrate_mbps", "float", False, "码率(Mbps)", ("码率", "主码流码率", "码率(mbps)", "bitrate"),
              min=0.05, max=100, hint="main-stream bitrate in Mbps (a 4096 kbps stream is 4.096)"),
        Field("recording", "enum", False, "录像方式", ("录像方式", "录像模式", "recording"), RECORDING_MODES),
        Field("retention_days", "int", False, "存储天数", ("存储天数", "录像保存天数", "保存天数", "retention"),
              min=1, max=3650),
        _ADDRESS,
    )),
    LayerSchema("sites", "候选点位", ("Point",), fields=(
        Field("id", "str", True, "点位编号", ("点位编号", "编号")),
        Field("kind", "enum", False, "点位类型", ("点位类型", "类型"), SITE_KINDS),
        Field("height_m", "float", False, "安装高度", _HEIGHT, min=0, max=150),
        Field("cost", "float", False, "造价(元)", ("造价", "费用", "成本", "cost_yuan"), min=0, max=1e8),
        _NAME,
    )),
    LayerSchema("stations", "派出所/警务室", ("Point",), fields=(
        Field("id", "str", True, "单位编号", ("单位编号", "机构编号", "编号", "机构代码")),
        Field("name", "str", True, "单位名称", ("单位名称", "机构名称", "名称", "派出所")),
        Field("kind", "enum", False, "类型", ("类型", "机构类型"), STATION_KINDS),
        _ADDRESS,
    )),
    LayerSchema("subgrids", "组格/片格", ("Polygon", "MultiPolygon"), id_field="code", fields=(
        Field("code", "code", True, "编码", ("编码", "组格编码", "片格编码"),
              hint="a 组格: grid code + 2 digits (17); a 片格: its 组格's code + 2 digits (19)"),
        Field("level", "enum", True, "层级", ("层级", "级别", "类型"), SUBGRID_LEVELS),
        Field("parent_code", "code", True, "上级编码", ("上级编码", "所属编码", "父级编码")),
        Field("grid_code", "code", True, "网格编码", ("网格编码", "所属网格")),
        Field("name", "str", False, "名称", ("名称",)),
        Field("worker_id", "worker", False, "责任人编号", ("责任人编号", "责任人", "负责人编号", "楼栋长"),
              hint="who answers for it: a worker or role id, never a resident's details"),
        Field("buildings", "int", False, "楼栋数", ("楼栋数",), min=0, max=100_000),
        Field("note", "str", False, "说明", ("说明", "备注")),
    )),
    LayerSchema("incidents", "警情", ("Point",), fields=(
        Field("id", "str", True, "警情编号", ("警情编号", "案件编号", "编号")),
        Field("time", "datetime", True, "发生时间", ("发生时间", "时间", "报警时间", "日期")),
        Field("category", "enum", True, "类别", ("类别", "警情类别", "案件类别", "类型"), INCIDENT_CATEGORIES),
        Field("severity", "enum", False, "严重程度", ("严重程度", "等级", "性质"), SEVERITIES),
    )),
]}

#: Headers that carry point coordinates in tabular inventories (CSV, XLSX).
LON_HEADERS = ("经度", "lon", "lng", "long", "longitude", "x", "东经", "x坐标")
LAT_HEADERS = ("纬度", "lat", "latitude", "y", "北纬", "y坐标")


#: tables that are not layers of the workspace but pass the same validation: the camera catalogue
#: (the setting ``catalogue``, :mod:`gis.catalogue`)
TABLES: dict[str, LayerSchema] = {s.name: s for s in [
    LayerSchema("camera_models", "摄像机型号库", None, fields=(
        Field("id", "str", True, "型号编号", ("型号编号", "编号", "model_id")),
        Field("maker", "str", True, "厂商", ("厂商", "品牌", "生产厂家", "manufacturer", "brand")),
        Field("model", "str", True, "型号", ("型号", "产品型号", "设备型号", "规格型号")),
        Field("kind", "enum", True, "摄像机类型", ("摄像机类型", "类型", "设备类型", "type"), CAMERA_KINDS),
        Field("resolution_px", "int", True, "水平分辨率", ("水平分辨率", "分辨率"), min=320, max=16384),
        Field("resolution_v_px", "int", False, "垂直分辨率", ("垂直分辨率",), min=120, max=16384),
        Field("sensor", "str", False, "靶面尺寸", ("靶面尺寸", "传感器", "图像传感器")),
        Field("focal_min_mm", "float", False, "最小焦距(mm)", ("最小焦距", "焦距", "焦距下限"), min=0.5, max=2000),
        Field("focal_max_mm", "float", False, "最大焦距(mm)", ("最大焦距", "焦距上限"), min=0.5, max=2000),
        Field("hfov_max_deg", "float", False, "最大水平视场角", ("最大水平视场角", "水平视场角", "视场角"),
              min=1, max=360),
        Field("hfov_min_deg", "float", False, "最小水平视场角", ("最小水平视场角",), min=0.1, max=360),
        Field("ir_range_m", "float", False, "补光距离(m)", ("补光距离", "红外距离"), min=0, max=1000),
        Field("min_lux", "float", False, "最低照度(lx)", ("最低照度", "彩色最低照度"), min=0, max=1000),
        Field("codecs", "str", False, "编码格式", ("编码格式", "视频压缩标准", "视频编码")),
        Field("streams", "str", False, "码流", ("码流", "主码流", "码流分辨率")),
        Field("power_w", "float", False, "功耗(W)", ("功耗", "最大功耗", "power"), min=0, max=2000),
        Field("poe_class", "int", False, "PoE等级", ("poe等级", "poe类别", "poe"), min=0, max=8),
        Field("price_yuan", "float", False, "单价(元)", ("单价", "价格", "price"), min=0, max=1e7),
        Field("source", "str", False, "资料来源", ("资料来源", "来源", "数据来源", "source")),
    )),
]}


def get(layer: str) -> LayerSchema:
    """Return the schema of ``layer`` (or of a table of :data:`TABLES`); raise with the list of layers if unknown."""
    try:
        return SCHEMAS[layer] if layer in SCHEMAS else TABLES[layer]
    except KeyError:
        raise UnknownLayerError(
            f"unknown layer '{layer}': the data model has {', '.join(SCHEMAS)}"
        ) from None


def normalise_header(header: object) -> str:
    """Fold a column header for matching: case, spaces, and unit suffixes like (米)/(m)."""
    text = str(header).strip().lower()
    text = re.sub(r"[（(\[【].*?[)）\]】]\s*$", "", text)  # trailing unit: 安装高度(米)
    return re.sub(r"[\s_\-]+", "", text)


#: Field names for formats limited to 10 characters (Shapefile/DBF), unique per layer.
SHORT_NAMES = {
    "community_code": "comm_code", "community_name": "comm_name", "heading_deg": "head_deg",
    "resolution_px": "res_px", "resolution_v_px": "res_v_px", "point_class": "pt_class",
    "required_level": "req_level", "building_id": "bldg_id",
}


def short_name(name: str) -> str:
    """The ≤ 10-character name a field gets in a Shapefile."""
    return SHORT_NAMES.get(name, name[:10])


def header_map(schema: LayerSchema) -> dict[str, str]:
    """Map every accepted (folded) header to its canonical field name."""
    out: dict[str, str] = {}
    for f in schema.fields:  # aliases first, so a canonical name always wins below
        for alias in (*f.aliases, short_name(f.name), f.name[:10]):  # ours, and GDAL's own truncation
            out.setdefault(normalise_header(alias), f.name)
    for f in schema.fields:
        out[normalise_header(f.name)] = f.name
    return out


#: the stored type of a field kind added to an existing table (GeoPackage, PostgreSQL)
SQL_TYPES = {"float": ("REAL", "double precision"), "int": ("INTEGER", "bigint"),
             "datetime": ("DATETIME", "timestamp")}


def grown_field(layer: str, name: str) -> Field | None:
    """The schema field ``name`` of ``layer`` if the schema has it (a table stored by an older version
    lacks the fields added since: an edit adds such a column, nothing else), else None."""
    schema = SCHEMAS.get(layer)
    return None if schema is None else schema.by_name.get(name)


def sql_type(f: Field, backend: str) -> str:
    """The column type a field gets when it is added to a stored table (``gpkg`` or ``postgis``)."""
    gpkg, pg = SQL_TYPES.get(f.kind, ("TEXT", "text"))
    return gpkg if backend == "gpkg" else pg
