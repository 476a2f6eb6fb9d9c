"""The in-memory table every fake repository writes through: the committed rows under one
unit of work's own writes, checked and then applied at commit."""

from __future__ import annotations

from typing import Generic, TypeVar

from application.errors import ConcurrencyConflictError

K = TypeVar("K")
V = TypeVar("V")


def conflict(what: str) -> ConcurrencyConflictError:
    return ConcurrencyConflictError(
        f"The {what} was changed concurrently; read it again and retry."
    )


class Table(Generic[K, V]):
    """One table as a unit of work sees it: the committed rows under its own writes (``None``
    deletes a row). ``commit`` checks, then applies them."""

    def __init__(self, what: str, committed: dict[K, V]) -> None:
        self._what = what
        self._committed = committed
        self._writes: dict[K, V | None] = {}
        self._expected: dict[K, int | None] = {}

    def get(self, key: K) -> V | None:
        return self._writes[key] if key in self._writes else self._committed.get(key)

    def rows(self) -> list[V]:
        return [row for _, row in self.items()]

    def items(self) -> list[tuple[K, V]]:
        merged = {**self._committed, **self._writes}
        return [(key, row) for key, row in merged.items() if row is not None]

    def put(self, key: K, row: V | None) -> None:
        self._writes[key] = row

    def put_if(self, key: K, row: V, version: int | None) -> None:
        """Stage ``row``, to commit only if the committed row is still at ``version`` (None: if
        there is none). Written twice, the first version counts."""
        self.put(key, row)
        self._expected.setdefault(key, version)

    def check(self) -> None:
        for key, version in self._expected.items():
            stored = self._committed.get(key)
            # Rows without a version (request ids) are only ever expected to be absent.
            if (None if stored is None else getattr(stored, "version", 0)) != version:
                raise conflict(self._what)

    def apply(self) -> None:
        for key, row in self._writes.items():
            if row is None:
                self._committed.pop(key, None)
            else:
                self._committed[key] = row
        self.clear()

    def clear(self) -> None:
        self._writes.clear()
        self._expected.clear()


class OnTable(Generic[K, V]):
    def __init__(self, table: Table[K, V]) -> None:
        self._table = table
