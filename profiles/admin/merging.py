"""Merge flow in the admin (merge view, preview, confirm), mixed into PersonAdmin."""


class MergeAdminMixin:
    """Adds the merge URLs, object tool and changelist action to PersonAdmin."""
