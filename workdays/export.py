"""The shipped holiday files (workdays/holidays/<year>.json), generated from `chinese_calendar`
(`flask --app app calendar export-shipped`). Imported only by that command and the tests:
at run time the service reads the files, not the package."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from .calendar import SHIPPED_DIR, arrangement_from_dict, file_text

# chinese_calendar's holiday names (constants.Holiday values) in Chinese
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
SHIPPED_YEARS = (2024, 2025, 2026)


def source_of(year: int) -> str:
    return f"国务院办公厅关于{year}年部分节假日安排的通知"


def arrangement(year: int) -> dict:
    """A year's arrangement as chinese_calendar has it (NotImplementedError if it has none)."""
    import chinese_calendar

    chinese_calendar.is_workday(date(year, 7, 1))  # raises for a year it does not cover
    holidays = [
        {"date": d.isoformat(), "name": NAMES.get(name, name)}
        for d, name in sorted(chinese_calendar.holidays.items())
        if d.year == year
    ]
    workdays = [d.isoformat() for d in sorted(chinese_calendar.workdays) if d.year == year]
    data = {"year": year, "source": source_of(year), "holidays": holidays, "workdays": workdays}
    arrangement_from_dict(data)  # what we ship passes the import's own checks
    return data


def write_shipped(years=SHIPPED_YEARS, directory: Path = SHIPPED_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for year in years:
        path = directory / f"{year}.json"
        path.write_text(file_text(arrangement(year)), encoding="utf-8")
        written.append(path)
    return written
