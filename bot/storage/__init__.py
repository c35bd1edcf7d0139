"""Storage: SQLModel tables and the database layer shared by engine, worker and web."""
