"""Roles and the government departments a handler account can belong to (DESIGN §3.6)."""

ROLES = {
    "parent": "家长",
    "nursery_staff": "托育机构",
    "handler": "承办部门",
    "admin": "区卫生健康委",
    # someone who wants to open a nursery and files it online (issue 12); bound to nothing until
    # the filing is approved, when the account becomes the new nursery's staff account
    "operator": "申办人",
}

DEPARTMENTS = {
    "health": "卫生健康委",
    "market": "市场监管局",
    "police": "公安局",
    "fire": "消防救援",
    "emergency": "应急管理局",
    "housing": "住房城乡建委",
    "education": "教委",
    "civil_affairs": "民政局",
    "hr": "人力社保局",
    "development": "发展改革委",
    "union": "总工会",
    "street": "镇街",
    # named by the seeds, shipped in the routing defaults (issue 16): subsidies not paid
    # (荣昌 第11项), facilities planned with housing estates (配建, 北碚 第6项)
    "finance": "财政局",
    "natural_resources": "规划自然资源局",
}
