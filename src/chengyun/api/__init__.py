"""The HTTP edge: FastAPI routers for /api/v1, the live feed and the pages."""
