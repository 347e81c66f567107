"""Benchmark of the registry import (issue 14): 100,000 nurseries, new and `--update`.

    .venv/bin/python bench/registry_import.py [--db sqlite|postgresql|both] [--rows 100000]

For each database (a temporary SQLite file; a fresh PostgreSQL database next to
TEST_POSTGRES_URL, dropped afterwards) it prepares the schema with `flask --app app init-db`,
writes a CSV of `--rows` filed nurseries spread over the district (every kind, care types,
prices within the default rules' reach: none), and times `flask --app app nurseries import`
three times as an operator runs it: the new registry, the same file again with `--update`
(nothing changed), and with `--update` after a tenth of the rows changed capacity, address
and position. Wall-clock seconds of the whole command (parsing and checking included), rows
per second, and the counts the command printed. Figures go to bench/out/registry_import.json.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _server as srv  # noqa: E402

OUT = srv.ROOT / "bench" / "out" / "registry_import.json"
HEADER = "name,address,lat,lon,coordsys,filing_no,kind,inclusive,street,care_types,capacity\n"
KINDS = ("public", "public_private", "private", "employer", "community")
CARE = ("全日托", "全日托;半日托", "全日托;计时托;临时托", "计时托")


def registry_csv(rows: int, changed_share: float = 0.0, seed: int = 7) -> str:
    rng, changes = random.Random(seed), random.Random(seed + 1)  # changes leave rng's draws be
    lines = [HEADER]
    for i in range(rows):
        lat = 29.45 + rng.random() * 0.3
        lon = 106.35 + rng.random() * 0.35
        capacity = 20 + rng.randrange(0, 180)
        address = f"演示路{i}号"
        if changed_share and changes.random() < changed_share:
            capacity += 10
            address = f"新址路{i}号"
            lat += 0.0005
        lines.append(
            f"托育园{i:06d},{address},{lat:.7f},{lon:.7f},wgs84,渝备{i:06d},"
            f"{KINDS[i % len(KINDS)]},{i % 3 == 0:d},演示街道{i % 12},{CARE[i % len(CARE)]},"
            f"{capacity}\n"
        )
    return "".join(lines)


def run_import(env: dict, path: Path, update: bool) -> dict:
    command = [str(srv.BIN / "flask"), "--app", "app", "nurseries", "import", "--quiet"]
    command += ["--update", str(path)] if update else [str(path)]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=srv.ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr[-2000:]}")
    return {"seconds": round(seconds, 2), "output": done.stdout.strip()}


def bench(kind: str, rows: int) -> dict:
    figures = {}
    with srv.database(kind) as url, tempfile.TemporaryDirectory() as tmp:
        env = srv.server_env(url)
        srv.init_db(env)
        first, changed = Path(tmp) / "registry.csv", Path(tmp) / "monthly.csv"
        first.write_text(registry_csv(rows), encoding="utf-8")
        changed.write_text(registry_csv(rows, changed_share=0.1), encoding="utf-8")
        for label, path, update in (
            ("new", first, False),
            ("update_unchanged", first, True),
            ("update_10pct_changed", changed, True),
        ):
            result = run_import(env, path, update)
            result["rows_per_second"] = round(rows / result["seconds"])
            figures[label] = result
            print(f"{kind:10s} {label:22s} {result['seconds']:7.2f} s  {result['output']}")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    report = {"rows": args.rows, "machine": srv.machine()}
    for kind in kinds:
        report[kind] = bench(kind, args.rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
