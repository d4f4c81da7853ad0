"""Friendly random names for anonymous profiles ("Amber Otter")."""

from __future__ import annotations

import random
import secrets

ADJECTIVES = (
    "Amber", "Azure", "Brave", "Bright", "Calm", "Clever", "Coral", "Crimson", "Dapper", "Eager",
    "Fancy", "Gentle", "Golden", "Happy", "Indigo", "Jolly", "Kind", "Lively", "Lucky", "Mellow",
    "Misty", "Noble", "Olive", "Plucky", "Quick", "Quiet", "Rosy", "Rustic", "Silver", "Sunny",
    "Swift", "Teal", "Tidy", "Vivid", "Witty", "Zesty",
)
ANIMALS = (
    "Otter", "Badger", "Falcon", "Fox", "Heron", "Ibis", "Jaguar", "Koala", "Lemur", "Lynx",
    "Marten", "Narwhal", "Ocelot", "Panda", "Puffin", "Quokka", "Raven", "Robin", "Seal",
    "Sparrow", "Tapir", "Tiger", "Walrus", "Wombat", "Yak", "Zebra", "Beaver", "Crane", "Dolphin",
    "Gecko", "Hare", "Moose", "Owl", "Penguin", "Stoat", "Wren",
)


def friendly_name(rng: random.Random | None = None) -> str:
    choice = rng.choice if rng else secrets.choice
    return f"{choice(ADJECTIVES)} {choice(ANIMALS)}"


def new_avatar_seed(rng: random.Random | None = None) -> str:
    return f"{rng.getrandbits(64):016x}" if rng else secrets.token_hex(8)
