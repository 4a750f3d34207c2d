"""HTTP layer: the FastAPI application, its routers and dependencies."""
