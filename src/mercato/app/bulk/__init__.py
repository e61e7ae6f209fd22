"""Bulk import and export of the catalog and its stock (`mercato import`, `mercato export`)."""
