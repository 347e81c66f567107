"""Booking use cases, one module per actor: `family` (parents, and the expiry run from cron)
and `staff` (nursery staff). Each write use case runs inside `database.use_case()`, the only
place that commits. Import the module or the function you need:
`from booking.services import family, staff`.
"""
