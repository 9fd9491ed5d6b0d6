"""Who bills whom: every organisation but the vendor is billed by its parent for the keys of
its subtree. An MSP's statement covers its own keys; a distributor's, every key below it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from keyledger.organisations.models import Organisation


@dataclass(frozen=True)
class Org:
    id: int
    path: str
    parent_id: int | None


class OrgIndex:
    def __init__(self, orgs: Iterable[Org]) -> None:
        self._orgs = {o.id: o for o in orgs}
        self._chains: dict[int, tuple[int, ...]] = {}

    @classmethod
    def load(cls, *, under: str = "/") -> OrgIndex:
        rows = Organisation.objects.filter(path__startswith=under).values_list("id", "path", "parent_id")
        return cls(Org(*row) for row in rows)

    def __contains__(self, org_id: int) -> bool:
        return org_id in self._orgs

    def get(self, org_id: int) -> Org:
        return self._orgs[org_id]

    def path(self, org_id: int) -> str:
        org = self._orgs.get(org_id)
        return org.path if org is not None else ""

    def issuer(self, customer_id: int) -> int | None:
        return self._orgs[customer_id].parent_id

    def customers_of(self, msp_id: int) -> tuple[int, ...]:
        """The organisations billed for a key of `msp_id`: it and each one above it that has
        a parent (the vendor bills, it is not billed)."""
        chain = self._chains.get(msp_id)
        if chain is None:
            ids = [int(part) for part in self.path(msp_id).strip("/").split("/") if part]
            chain = tuple(i for i in ids if i in self._orgs and self._orgs[i].parent_id is not None)
            self._chains[msp_id] = chain
        return chain
