"""Authorization of batch and transaction entries, one by one (each as the interaction it stands for).

:mod:`adapter.services.bundles` calls :meth:`EntryGuard.check` for every entry, on the Bundle's connection,
right before running it: a transaction stops at the first refused entry (403, nothing stored); a batch
answers 403 in that entry's response and goes on. Search entries get the caller's :attr:`visibility`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from adapter.auth.access import Access
from adapter.auth.content import content_refusal
from adapter.auth.needs import ENTRY_LETTERS
from adapter.auth.organizations import check_read, check_write
from adapter.errors import Forbidden
from adapter.search.index import Indexer
from adapter.search.visibility import Members, Visibility
from adapter.store.schema import resources


@dataclass(frozen=True)
class EntryGuard:
    access: Access
    visibility: Visibility | None
    members: Members | None
    indexer: Indexer

    def check(self, conn: Connection, method: str, res_type: str, res_id: str | None, query: str | None,
              resource: dict | None, if_none_exist: str | None = None) -> None:
        """:raise Forbidden: the scopes do not grant this entry, or it reaches outside the organizations.
        :raise NotFound: (restricted client) a read of a resource outside its members' compartments."""
        letters = ENTRY_LETTERS.get(method, "")
        if method in ("GET", "HEAD") and res_id is None:
            letters = "s"
        if query is not None or if_none_exist:
            letters += "s"
        creates = method == "PUT" and not _exists(conn, res_type, res_id)
        if creates and not self.access.permissions.allows(res_type, "c"):
            letters += "c"
        missing = [letter for letter in letters if not self.access.permissions.allows(res_type, letter)]
        if missing:
            raise Forbidden(f"the access token's scopes do not grant {', '.join(missing)} on {res_type} "
                            f"({method} {res_type}{'/' + res_id if res_id else ''})")
        if method in ("POST", "PUT") and (refusal := content_refusal(self.access, resource)) is not None:
            raise Forbidden(refusal)
        if self.members is None:
            return
        if query is not None or if_none_exist:
            raise Forbidden("conditional entries are not available to clients restricted to organizations")
        if method in ("GET", "HEAD"):
            if res_id is not None:
                check_read(conn, self.members, res_type, res_id)
            return
        check_write(conn, self.members, self.indexer, res_type, res_id if method != "POST" else None,
                    resource if method in ("POST", "PUT") else None)


def _exists(conn: Connection, res_type: str, res_id: str | None) -> bool:
    if res_id is None:
        return False
    return conn.execute(select(resources.c.pk).where(resources.c.res_type == res_type,
                                                     resources.c.res_id == res_id)).first() is not None
