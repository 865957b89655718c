"""Checks on a store before sync writes to it: reachable, a database, and not another program's (ADR-084).

``open_store`` creates our tables in whatever database it is given, which is right for a new store and wrong for
a database that some other program owns: a mistyped remote URL must not scatter ``runs`` and ``params`` tables
into it. :func:`check_remote` looks (without writing) first.
"""

from __future__ import annotations

from sqlalchemy import exc, inspect

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store.engine import make_engine, redact_url, unavailable

#: Tables every jupyter_mlops store has, whatever its version.
_OURS = frozenset({"runs", "migrations", "schema_info"})


def check_remote(url: str, *, create: bool) -> None:
    """Refuse a remote that is unreachable, not a database, or a database of another program.

    An empty database (or a SQLite file not there yet, when ``create``) is fine: it becomes the team store.

    Raises:
        StoreUnavailable: unreachable, not a database, missing SQLite file (with ``create`` false).
        InvalidInput: the database holds tables, and not ours.
    """
    where = redact_url(url)
    engine = make_engine(url, create=create)
    try:
        names = set(inspect(engine).get_table_names())
    except exc.SQLAlchemyError as error:
        raise unavailable(error, where) from None
    finally:
        engine.dispose()
    if names and not _OURS <= names:
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        raise InvalidInput(f"remote {where} is not a jupyter_mlops store: it holds another program's tables "
                           f"({shown}); give an empty database or a jupyter_mlops store")
