"""Read-side queries (selectors): no writes here, only indexed lookups for the surfaces."""
