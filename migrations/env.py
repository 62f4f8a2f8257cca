"""Alembic's entry point. The application runs migrations itself (actions/store.py `migrate`);
`alembic -c migrations/alembic.ini ...` uses the same database settings for new revisions."""
from alembic import context
import sqlalchemy as sa

from actions import store
from actions.settings import settings

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    engine = sa.create_engine(settings().sqlalchemy_url, future=True)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=store.metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=store.metadata)
    with context.begin_transaction():
        context.run_migrations()
