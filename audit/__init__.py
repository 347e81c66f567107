"""The append-only audit log: who did what to which record, and why."""

from .models import AuditEntry, record

__all__ = ["AuditEntry", "record"]
