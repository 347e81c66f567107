"""The booking pages, one module per audience: `family` (blueprint "booking": children, booking,
my bookings, inbox) and `staff` (blueprint "portal", under /portal: the nursery staff portal)."""
