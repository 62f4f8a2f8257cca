"""The clinic's own details and records, used by every process and free of Rasa imports.

- ``details``: name, phone, hours, services, ... from clinic/details.yml.
- ``records``: escalations, booking and referral requests in one SQL database (SQLite by
  default, PostgreSQL from DATABASE_URL), with its Alembic migrations in ``migrations/``.
- ``notify``: tells staff about new records through their webhook.
"""
