"""Alembic migrations of the schema in chengyun.adapters.db.tables."""
