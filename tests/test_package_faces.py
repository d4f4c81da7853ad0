"""The merge engine has one face: code outside `profiles/services/merging/` imports its names
from the package (`profiles.services.merging`), never from a module inside it, so the engine
can be rearranged without touching its callers. (Tests of the engine's own parts may.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = "profiles.services.merging"
PRODUCTION = ("profiles", "dedup", "api", "crm", "segments", "bench")


def _inner_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names
                  if name.startswith(ENGINE + ".")]
    return found


def test_nothing_outside_the_engine_imports_from_inside_it():
    engine_dir = ROOT / Path(*ENGINE.split("."))
    offenders = [
        found
        for folder in PRODUCTION if (ROOT / folder).is_dir()
        for path in sorted((ROOT / folder).rglob("*.py"))
        if engine_dir not in path.parents and "migrations" not in path.parts
        for found in _inner_imports(path)
    ]
    assert offenders == [], "import these through profiles.services.merging: " + ", ".join(
        offenders)
