"""The demo's policies (托育政策查询): the shipped policies/policies.json, plus the fictional
demo district's own two entries — its operating subsidy, whose amounts are the subsidy table
demo/district.py loads (荣昌's figures, borrowed), and its price regimes — so "what applies to
me" shows a real amount for a demo nursery."""

from datetime import datetime
from pathlib import Path

from policies.document import check_policy, parse_document
from policies.services import import_policies

SHIPPED = Path(__file__).resolve().parent.parent / "policies" / "policies.json"
DISTRICT = "重庆市/渝星区"  # config POLICY_DISTRICT's default
DEMO_POLICIES = [
    {
        "code": "demo-yuxing-operating-subsidy",
        "title": "渝星区普惠性托育机构运营补贴（演示）",
        "category": "subsidy",
        "summary": "对备案的普惠性托育机构按班级给予每生每年运营补贴："
        "托大班 700 元、托小班 800 元、乳儿班 900 元"
        "（演示数据，借用荣昌区第11项的金额）。",
        "body": "虚构演示数据：渝星区是虚构的演示区，"
        "本条借用荣昌区三年行动计划第11项的金额"
        "（托大班、托小班、乳儿班每生每年 700、800、900 元）。金额取自本区运营补贴表"
        "（flask --app app subsidies import），补贴付给托育机构，家庭不直接领取。",
        "region": DISTRICT,
        "max_age_months": 36,
        "inclusive_required": True,
        "amount_rule": {"kind": "operating_subsidies"},
        "source_title": "演示数据（借用重庆市荣昌区三年行动计划（2023—2025年）第11项的金额）",
        "source_date": "2024-02-21",
    },
    {
        "code": "demo-yuxing-price-regimes",
        "title": "渝星区托育收费价格管理（演示）",
        "category": "price",
        "summary": "公办（含公建民营）托育机构收费实行政府指导价，普惠性托育机构收费限价，"
        "其他托育机构实行市场调节价（演示数据，金额见价格管理）。",
        "body": "虚构演示数据：收费方式按荣昌、大足行动计划第9项；渝星区的指导价和限价金额是"
        "随系统发布的演示数据（maps/price_rules.json），不是任何区公布的价格。",
        "region": DISTRICT,
        "source_title": "演示数据（收费方式依据荣昌区、大足区行动计划第9项）",
        "source_date": "2024-02-21",
    },
]


def load_policies(now: datetime) -> int:
    """Import the shipped and the demo policies (inside load_demo's transaction)."""
    policies = parse_document(SHIPPED.read_bytes()) + [check_policy(p) for p in DEMO_POLICIES]
    added, _updated = import_policies(policies, None, "演示数据", now=now)
    return added
