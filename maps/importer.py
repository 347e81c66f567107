"""Reading registry files (CSV or GeoJSON): rows parsed and checked, errors by line number.

The import use cases (all or nothing) are in `maps/services.py`."""

import csv
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from errors import DomainError
from extensions import db

from . import boundary
from .coords import COORDSYS, in_china, to_wgs84
from .domain import CARE_TYPES, NURSERY_KINDS
from .models import Street

NURSERY_REQUIRED = ("name", "address", "lat", "lon")
# A care type's price (yuan, in its default unit: 元/月 for full and half day, 元/小时 hourly,
# 元/天 temporary); checked against the district's guided prices and caps on import.
PRICE_COLUMNS = {care_type: f"price_{care_type}" for care_type in CARE_TYPES}
NURSERY_OPTIONAL = (
    "coordsys",
    "filing_no",
    "filing_date",
    "kind",
    "inclusive",
    "street",
    "phone",
    "care_types",
    "capacity",
    "grade",
    "demonstration",
    *PRICE_COLUMNS.values(),
)
COMMUNITY_REQUIRED = ("name", "lat", "lon", "population", "children_under_3")
COMMUNITY_OPTIONAL = ("coordsys", "street", "urban")
MAX_ROWS = 200_000
MAX_ERRORS = 50

_KIND_BY_LABEL = {label: code for code, label in NURSERY_KINDS.items()}
_CARE_BY_LABEL = {label: code for code, label in CARE_TYPES.items()}
_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"0", "false", "no", "n", "否", ""}


class RowError(Exception):
    """A bad value in one row; the importer adds the line number."""


class ImportFailed(DomainError):
    """The file was refused; errors lists (line, reason), and nothing was written."""

    def __init__(self, errors: list[tuple[int, str]]):
        lines = "；".join(f"第 {line} 行：{reason}" for line, reason in errors[:5])
        more = f"（另有 {len(errors) - 5} 处错误）" if len(errors) > 5 else ""
        super().__init__("import_failed", f"导入失败，未写入任何数据。{lines}{more}", status=422)
        self.errors = errors


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0  # `--update`: rows matched by 备案号 whose fields or care types changed
    unchanged: int = 0  # `--update`: rows matched by 备案号 with nothing to change
    streets_created: list[str] = field(default_factory=list)


def read_rows(data: bytes, filename: str, required, optional) -> list[tuple[int, dict]]:
    """Rows of a CSV or GeoJSON file as (line number, {column: text}); header checked."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed([(line, "文件不是 UTF-8 编码（请另存为 UTF-8）")]) from None
    if filename.lower().endswith((".geojson", ".json")):
        return _geojson_rows(text, required, optional)
    return _csv_rows(text, required, optional)


def _check_header(columns, required, optional, line) -> None:
    columns = [c.strip() for c in columns]
    missing = [c for c in required if c not in columns]
    unknown = [c for c in columns if c not in required and c not in optional]
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    problems = []
    if missing:
        problems.append("缺少必填列 " + "、".join(missing))
    if unknown:
        problems.append("无法识别的列 " + "、".join(unknown))
    if dupes:
        problems.append("重复的列 " + "、".join(dupes))
    if problems:
        allowed = "、".join(required + optional)
        raise ImportFailed([(line, "；".join(problems) + f"（可用列：{allowed}）")])


def _csv_rows(text, required, optional):
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([(1, "文件为空")]) from None
    except csv.Error as exc:
        raise ImportFailed([(1, f"CSV 格式错误：{exc}")]) from None
    _check_header(header, required, optional, 1)
    header = [c.strip() for c in header]
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise ImportFailed(
                    [(reader.line_num, f"应有 {len(header)} 列，实有 {len(values)} 列")]
                )
            rows.append((reader.line_num, dict(zip(header, values, strict=True))))
            if len(rows) > MAX_ROWS:
                raise ImportFailed([(reader.line_num, f"一次最多导入 {MAX_ROWS} 行")])
    except csv.Error as exc:
        raise ImportFailed([(reader.line_num, f"CSV 格式错误：{exc}")]) from None
    if not rows:
        raise ImportFailed([(1, "文件没有数据行")])
    return rows


def _geojson_rows(text, required, optional):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed([(exc.lineno, f"不是有效的 GeoJSON：{exc.msg}")]) from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ImportFailed([(1, "GeoJSON 须为 FeatureCollection")])
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise ImportFailed([(1, "FeatureCollection 没有要素")])
    rows = []
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if (
            not isinstance(geometry, dict)
            or geometry.get("type") != "Point"
            or not isinstance(coords, list)
            or len(coords) < 2
        ):
            raise ImportFailed([(number, f"第 {number} 个要素须为点（Point）")])
        props = dict(props) if isinstance(props, dict) else {}
        props = {k: "" if v is None else str(v) for k, v in props.items()}
        props["lon"], props["lat"] = str(coords[0]), str(coords[1])
        _check_header(list(props), required, optional, number)
        rows.append((number, props))
    return rows


def _text(row, column, max_len, required=False) -> str | None:
    value = (row.get(column) or "").strip()
    if not value:
        if required:
            raise RowError(f"{column} 不能为空")
        return None
    if len(value) > max_len:
        raise RowError(f"{column} 不能超过 {max_len} 个字")
    return value


def _number(row, column) -> float:
    raw = (row.get(column) or "").strip()
    try:
        value = float(raw)
    except ValueError:
        raise RowError(f"{column} 不是数字：{raw!r}") from None
    if not math.isfinite(value):
        raise RowError(f"{column} 不是有限数字")
    return value


def _count(row, column, required=True, upper=10_000_000) -> int | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        if required:
            raise RowError(f"{column} 不能为空")
        return None
    if not raw.isdigit():
        raise RowError(f"{column} 须为非负整数：{raw!r}")
    value = int(raw)
    if value > upper:
        raise RowError(f"{column} 过大：{value}")
    return value


def _price(row, column) -> Decimal | None:
    raw = (row.get(column) or "").strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise RowError(f"{column} 不是数字：{raw!r}") from None
    if not value.is_finite() or not 0 <= value <= 100_000:
        raise RowError(f"{column} 须在 0 到 100000 元之间：{raw!r}")
    return value.quantize(Decimal("0.01"))


def _flag(row, column) -> bool:
    raw = (row.get(column) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise RowError(f"{column} 须为 0 或 1：{raw!r}")


def _urban(row) -> bool:
    """城镇 (1, 城镇) or 农村 (0, 农村); 城镇 when the column is empty or absent."""
    raw = (row.get("urban") or "").strip().lower()
    if raw in ("城镇", "urban") or (raw and raw in _TRUE):
        return True
    if raw in ("农村", "rural") or (raw and raw in _FALSE):
        return False
    if not raw:
        return True
    raise RowError(f"urban 须为 1（城镇）或 0（农村）：{raw!r}")


def _point(row) -> tuple[float, float, str]:
    lat, lon = _number(row, "lat"), _number(row, "lon")
    coordsys = (row.get("coordsys") or "wgs84").strip().lower() or "wgs84"
    if coordsys not in COORDSYS:
        raise RowError(f"coordsys 须为 wgs84、gcj02 或 bd09：{coordsys!r}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise RowError(f"坐标超出范围：lat={lat}, lon={lon}")
    if not in_china(lat, lon):
        raise RowError(f"坐标不在中国境内：lat={lat}, lon={lon}（请检查经纬度是否写反）")
    wgs_lat, wgs_lon = to_wgs84(lat, lon, coordsys)
    if not boundary.contains(wgs_lat, wgs_lon):
        raise RowError(f"坐标不在本区范围内（区界 DISTRICT_BOUNDARY）：lat={lat}, lon={lon}")
    return round(wgs_lat, 7), round(wgs_lon, 7), coordsys


class StreetLookup:
    """Streets by name, creating unknown ones in the import's transaction."""

    def __init__(self):
        self.by_name = {s.name: s for s in db.session.scalars(select(Street))}
        self.created: list[str] = []

    def get(self, name: str | None) -> Street | None:
        if not name:
            return None
        if name not in self.by_name:
            street = Street(name=name, code=f"S{len(self.by_name) + 1:03d}")  # kind from name
            while db.session.scalar(select(Street.id).where(Street.code == street.code)):
                street.code = f"S{int(street.code[1:]) + 1:03d}"
            db.session.add(street)
            db.session.flush()
            self.by_name[name] = street
            self.created.append(name)
        return self.by_name[name]


def collect(rows, parse) -> list:
    """Parse every row, gathering errors with their line numbers; raise them all at once."""
    parsed, errors = [], []
    for line, row in rows:
        try:
            parsed.append((line, parse(row)))
        except RowError as exc:
            errors.append((line, str(exc)))
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise ImportFailed(errors)
    return parsed


def parse_nursery(row) -> dict:
    lat, lon, coordsys = _point(row)
    kind = (row.get("kind") or "private").strip() or "private"
    kind = _KIND_BY_LABEL.get(kind, kind)
    if kind not in NURSERY_KINDS:
        raise RowError(f"kind 不是已知的机构类型：{kind!r}（可用：{'、'.join(NURSERY_KINDS)}）")
    care_types = []
    for part in (row.get("care_types") or "").replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code = _CARE_BY_LABEL.get(part, part)
        if code not in CARE_TYPES:
            raise RowError(f"care_types 含未知托育类型：{part!r}")
        if code not in care_types:
            care_types.append(code)
    filing_date = None
    if _text(row, "filing_date", 10):
        try:
            filing_date = date.fromisoformat(row["filing_date"].strip())
        except ValueError:
            raise RowError("filing_date 须为 YYYY-MM-DD 格式的日期") from None
    care_types = care_types or ["full_day"]
    prices = {}
    for care_type, column in PRICE_COLUMNS.items():
        price = _price(row, column)
        if price is None:
            continue
        if care_type not in care_types:
            raise RowError(f"填写了 {column}，但 care_types 不含{CARE_TYPES[care_type]}")
        prices[care_type] = price
    return {
        "name": _text(row, "name", 100, required=True),
        "address": _text(row, "address", 200, required=True),
        "lat": lat,
        "lon": lon,
        "source_coordsys": coordsys,
        "filing_no": _text(row, "filing_no", 64),
        "filing_date": filing_date,
        "kind": kind,
        "inclusive": _flag(row, "inclusive"),
        "demonstration": _flag(row, "demonstration"),
        "grade": _text(row, "grade", 16),
        "street": _text(row, "street", 64),
        "phone": _text(row, "phone", 32),
        "care_types": care_types,
        "prices": prices,
        "capacity": _count(row, "capacity", required=False, upper=10_000) or 0,
    }


def parse_community(row) -> dict:
    lat, lon, coordsys = _point(row)
    population = _count(row, "population")
    children = _count(row, "children_under_3")
    if children > population:
        raise RowError("children_under_3 不能大于 population")
    return {
        "name": _text(row, "name", 100, required=True),
        "lat": lat,
        "lon": lon,
        "source_coordsys": coordsys,
        "population": population,
        "children_under_3": children,
        "street": _text(row, "street", 64),
        "urban": _urban(row),
    }
