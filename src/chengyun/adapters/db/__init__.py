"""Relational storage for SQLite and PostgreSQL: engine, tables, migrations, repositories, unit of work."""
