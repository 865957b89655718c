"""The store's cache of built search statements: reuse, bounds, and nothing kept from a failed build."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import FilterSyntaxError
from jupyter_mlops.store import search


def test_the_same_search_reuses_its_statements_and_a_different_one_does_not():
    cache = search.StatementCache()
    first = cache.search("metrics.auc > 0.8", ["metrics.auc DESC"], 50, 0)
    assert cache.search("metrics.auc > 0.8", ("metrics.auc DESC",), 50, 0) is first
    assert cache.search("metrics.auc > 0.8", ["metrics.auc DESC"], 50, 50) is not first
    assert cache.frame("metrics.auc > 0.8", ["metrics.auc DESC"], 50) is not first
    assert first.windowed and first.ids is None


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest():
    cache = search.StatementCache(size=2)
    a = cache.search("params.a = 1", [], None, 0)
    b = cache.search("params.b = 1", [], None, 0)
    cache.search("params.c = 1", [], None, 0)
    assert cache.search("params.b = 1", [], None, 0) is b
    assert cache.search("params.a = 1", [], None, 0) is not a


def test_a_filter_that_does_not_parse_is_not_kept(monkeypatch):
    cache = search.StatementCache()
    built = []
    real = search.build_search
    monkeypatch.setattr(search, "build_search", lambda *args, **kw: built.append(args) or real(*args, **kw))
    for _ in range(2):
        with pytest.raises(FilterSyntaxError):
            cache.search("params.lr >", [], None, 0)
    assert len(built) == 2


def test_statements_take_the_time_as_a_parameter():
    rows = search.build_search("status = running", [], None, 0).rows
    assert search.STALE_BEFORE.key in rows.compile().params
