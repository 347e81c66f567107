"""Working days on the Chinese calendar (public holidays and make-up working days)."""
