"""Deterministic, locally generated avatars: the same seed always draws the same SVG."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

PALETTE = ("#e76f51", "#f4a261", "#e9c46a", "#2a9d8f", "#264653", "#8ab17d", "#6d597a", "#b56576")


@lru_cache(maxsize=4096)
def avatar_svg(seed: str) -> str:
    """A 5x5 mirrored identicon in one colour on a light background."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    color = PALETTE[digest[0] % len(PALETTE)]
    cells = []
    for row in range(5):
        for col in range(3):
            if digest[1 + row * 3 + col] % 2:
                for x in {col, 4 - col}:
                    cells.append(f'<rect x="{x * 8 + 4}" y="{row * 8 + 4}" width="8" height="8"/>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" viewBox="0 0 48 48">'
        f'<rect width="48" height="48" rx="24" fill="#f1f1f1"/><g fill="{color}">'
        + "".join(cells)
        + "</g></svg>"
    )


def avatar_data_uri(seed: str) -> str:
    encoded = base64.b64encode(avatar_svg(seed).encode("utf-8")).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"
