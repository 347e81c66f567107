"""Complaints and reports (投诉举报, issue 4): filing, routing, handling, tracking, Open311.

models (tables and the state machine) · plain rules: routing, deadlines, codes, masking,
validation · rulebook (the rules in force) · queries (reads) · services/ (use cases by actor:
filing, handling, rules) · views/ (pages by audience: public, handling, admin) · api (Open311
GeoReport v2) + api_openapi · forms/ · photos · limits · cli.
"""
