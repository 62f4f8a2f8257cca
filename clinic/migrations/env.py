"""Alembic's entry point. The application runs migrations itself (clinic/records.py `migrate`);
`alembic -c clinic/migrations/alembic.ini ...` uses the same database settings for new revisions."""

import sqlalchemy as sa
from alembic import context

from clinic import records
from settings import settings

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    # The staff console's tables (staff_*) are described in staff/accounts.py, which clinic/
    # may not import: autogenerate leaves them alone, and their migrations are written by hand.
    return not (type_ == "table" and reflected and compare_to is None and name.startswith("staff_"))


def run_migrations(connection):
    context.configure(connection=connection, target_metadata=records.metadata, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    engine = sa.create_engine(settings().clinic_database_url, future=True)
    with engine.begin() as connection:
        run_migrations(connection)
else:
    run_migrations(connection)
