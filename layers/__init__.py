"""The data model: schemas, validation, stores, import and export. Never imports :mod:`api`."""
