"""Booking use cases, one module per actor: `family` (parents, and the expiry run from cron),
`staff` (nursery staff) and `admin` (the district's operating subsidies). Each write use case
runs inside `database.use_case()`, the only place that commits. Import the module or the
function you need: `from booking.services import family, staff`.
"""
