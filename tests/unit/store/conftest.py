"""Store-test fixtures: an injectable clock and a factory for stores that use it (same backend as ``store``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from jupyter_mlops.store.sql import SqlStore


class FakeClock:
    """A clock that only moves when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_store(store_url: str) -> Iterator[Callable[..., SqlStore]]:
    """Open extra SqlStore objects on the test's database (e.g. with a fake clock); all closed afterwards."""
    opened: list[SqlStore] = []

    def factory(**kwargs: object) -> SqlStore:
        store = SqlStore(store_url, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
