"""Signals that shape a request's consent besides the visitor's choice: the regime of the
visitor's region, Global Privacy Control, and the Content-Security-Policy derived from
what was granted."""
