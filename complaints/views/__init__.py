"""Complaint pages, one module per audience (blueprint names and URLs as before):
`public` (blueprint "complaints": the form and 投诉举报马上查), `handling` ("handling": the
handlers' queue, case pages and statistics under /handle), `admin` ("complaint_admin": the
routing rules under /admin/complaint-rules). Open311 is the API (`complaints/api.py`)."""
