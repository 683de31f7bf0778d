"""Enforcement: the signed consent token, cookie parsing and building, and what passes.

Everything here knows cookies and headers, nothing about pages or endpoints: the
middleware, the endpoints and the banner all stand on it.
"""
