"""The loaded models are frozen out of full garbage collections, and a swap lets the old one go."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from serving_support import make_settings

from serving.app import create_app
from serving.heap import resettle_heap, settle_heap
from serving.model_store import ModelStore
from serving.online.state import InMemoryOnlineState


@pytest.fixture()
def unfrozen() -> Iterator[None]:
    """Leave the test process as found: nothing frozen afterwards."""
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Model:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector can free it


def _in_collected_generations(obj: object) -> bool:
    return any(o is obj for gen in range(3) for o in gc.get_objects(generation=gen))


def test_startup_freezes_the_loaded_models(unfrozen: None, loaded_store: ModelStore) -> None:
    model, _ = loaded_store.get("recsys")
    assert _in_collected_generations(model)
    settings = make_settings(freeze_heap=True)
    app = create_app(settings, model_store=loaded_store, online_state=InMemoryOnlineState())
    with TestClient(app, headers={"X-API-Key": "all-key-abcdefghijklmnopqrstu"}) as client:
        assert gc.get_freeze_count() > 0
        assert not _in_collected_generations(model), "the served model is skipped by every collection"
        assert client.get("/v1/trending").status_code == 200


def test_default_test_settings_do_not_freeze(unfrozen: None, loaded_store: ModelStore) -> None:
    app = create_app(make_settings(), model_store=loaded_store, online_state=InMemoryOnlineState())
    with TestClient(app):
        assert gc.get_freeze_count() == 0


def test_resettle_lets_a_replaced_model_be_collected(unfrozen: None) -> None:
    old = _Model()
    gone = weakref.ref(old)
    settle_heap()
    assert gc.get_freeze_count() > 0
    del old
    gc.collect()
    assert gone() is not None, "frozen: full collections skip it"
    resettle_heap()  # what a hot swap does
    assert gone() is None
    assert gc.get_freeze_count() > 0


def test_resettle_is_a_no_op_when_nothing_was_frozen(unfrozen: None) -> None:
    old = _Model()
    gone = weakref.ref(old)
    del old
    resettle_heap()
    assert gc.get_freeze_count() == 0
    assert gone() is not None  # no collection ran: the cycle waits for the normal GC
    gc.collect()
    assert gone() is None
