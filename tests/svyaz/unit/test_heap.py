"""`svyaz.heap.freeze`: what is alive is moved out of the collector's reach, and
what is made later (a request's cycles) is still collected."""

from __future__ import annotations

import gc
import weakref

from svyaz import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_the_heap_frozen_and_later_garbage_still_collected() -> None:
    try:
        kept = Node()
        assert heap.freeze() > 0
        assert gc.get_freeze_count() > 0
        walked = {id(o) for o in gc.get_objects()}
        assert id(kept) not in walked  # no collection walks it any more

        a, b = Node(), Node()  # a cycle made after the freeze, then dropped
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()  # the rest of the test process as it was


def test_the_freeze_is_on_unless_turned_off_in_words_the_settings_know() -> None:
    import pytest

    from svyaz.config import ConfigurationError

    assert heap.Settings.read({}).freeze is True
    assert heap.Settings.read({"HEAP_FREEZE": "off"}).freeze is False
    with pytest.raises(ConfigurationError, match="HEAP_FREEZE"):
        heap.Settings.read({"HEAP_FREEZE": "of"})  # a typo is refused, not "on"
