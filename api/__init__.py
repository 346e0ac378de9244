"""The HTTP API (FastAPI) and the web page."""
