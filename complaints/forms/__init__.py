"""Complaint forms (Flask-WTF, CSRF-protected), one module per audience like the views:
`public` (file, answer, rate), `handling` (the case page's actions), `admin` (routing rules).
Forms check shape only; the rules are the model's and the use cases'."""
