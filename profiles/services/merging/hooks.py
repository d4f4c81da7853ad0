"""What other apps run after a merge or an undo, inside its transaction (segments register
theirs in their AppConfig.ready): the merge engine stays the one writer of the merge itself."""

from __future__ import annotations

from collections.abc import Callable

from profiles.models import MergeRecord

MergeHook = Callable[[list[MergeRecord]], None]
UndoHook = Callable[[MergeRecord], None]
_AFTER_MERGE: list[MergeHook] = []
_AFTER_UNDO: list[UndoHook] = []


def register_after_merge(hook: MergeHook) -> MergeHook:
    if hook not in _AFTER_MERGE:
        _AFTER_MERGE.append(hook)
    return hook


def register_after_undo(hook: UndoHook) -> UndoHook:
    if hook not in _AFTER_UNDO:
        _AFTER_UNDO.append(hook)
    return hook


def after_merge(records: list[MergeRecord]) -> None:
    if records:
        for hook in _AFTER_MERGE:
            hook(records)


def after_undo(record: MergeRecord) -> None:
    for hook in _AFTER_UNDO:
        hook(record)
