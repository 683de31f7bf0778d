"""The example shop as a minimal Django project served through ASGI (see ``asgi.py``)."""
