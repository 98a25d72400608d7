"""Persistence: schema, engine, migrations, tenant-scoped repository and the batching writer.

Every row carries `tenant_id`; the only way in is `repository.TenantSession`, whose helpers add the
tenant filter themselves, so a query cannot forget it.
"""
