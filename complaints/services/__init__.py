"""Complaint use cases, split by actor; the only callers of `database.use_case()`.

- `filing`: the public (web form and Open311) — file a complaint, answer a request for
  information, rate the result.
- `handling`: the handlers of routed departments — accept, transfer, ask for information, notes,
  extend, resolve, close, merge, reopen, reveal the contact details.
- `rules`: the admins — save a version of the routing rules.

Each write use case validates everything first, then makes its changes inside one
`with use_case():`, so a refused request stores nothing. Reads are in `complaints/queries.py`.
"""
