"""Alembic's entry point. The application runs migrations itself (clinic/records.py `migrate`);
`alembic -c clinic/migrations/alembic.ini ...` uses the same database settings for new revisions."""

import sqlalchemy as sa
from alembic import context

from clinic import records
from settings import settings

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    engine = sa.create_engine(settings().clinic_database_url, future=True)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=records.metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=records.metadata)
    with context.begin_transaction():
        context.run_migrations()
