"""``modelpack db upgrade URI``: migrate a tracking store's schema explicitly."""

from __future__ import annotations

import click

from modelpack.tracking.stores.sql.engine import Store
from modelpack.tracking.stores.sql.location import locate_store


@click.group()
def db() -> None:
    """Tracking store database: schema migrations."""


@db.command()
@click.argument("uri")
def upgrade(uri: str) -> None:
    """Migrate the store at URI (a directory, sqlite:///file.db or postgresql://…) to
    this modelpack's schema. Stores are also migrated when first opened; run this to do
    it at a time of your choosing, e.g. before rolling out a new release to a team.
    """
    store = Store(locate_store(uri))
    try:
        before, after = store.upgrade()
    finally:
        store.dispose()
    where = store.location.display
    if before == after:
        click.echo(f"{where}: already at schema revision {after}")
    else:
        click.echo(f"{where}: upgraded schema from {before or 'unversioned'} to revision {after}")


__all__ = ["db"]
