from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from aitrader.storage.migrate import current_revision, downgrade, head_revision, upgrade
from aitrader.storage.schema import TENANT_SCOPED, Base


def _diffs(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def test_upgrade_on_empty_db_yields_exactly_the_schema(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _diffs(engine) == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_compare_detects_a_missing_table(migrated: Engine) -> None:
    """The no-diff assertion above can fail: drop one table and the comparison reports it."""
    with migrated.begin() as conn:
        Base.metadata.tables["metrics"].drop(conn)
    diffs = _diffs(migrated)
    assert any(d[0] == "add_table" and d[1].name == "metrics" for d in diffs if isinstance(d, tuple))


def test_downgrade_removes_everything_and_upgrade_again(migrated: Engine) -> None:
    downgrade(migrated, "base")
    assert set(inspect(migrated).get_table_names()) <= {"alembic_version"}
    upgrade(migrated)
    assert _diffs(migrated) == []


def test_every_table_is_tenant_scoped_and_indexed() -> None:
    for model in TENANT_SCOPED:
        table = model.__table__
        col = table.c.tenant_id  # type: ignore[attr-defined]
        assert not col.nullable
        assert col.index or any(
            idx.columns.keys()[0] == "tenant_id"
            for idx in table.indexes  # type: ignore[attr-defined]
        ), table
        for uc in table.constraints:  # type: ignore[attr-defined]
            if uc.__class__.__name__ == "UniqueConstraint" and table.name != "api_keys":
                assert uc.columns.keys()[0] == "tenant_id", (table.name, uc.columns.keys())
