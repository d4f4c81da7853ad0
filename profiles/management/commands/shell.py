"""`manage.py shell` with every importable model and the Python API already imported.

Django's own shell imports each model from its `__module__`; simple-history's historical models
live in a module they cannot be imported from, which printed a warning at every start. Those are
left out (reach them as `Person.history`), and the services (`identify`, `merge_people`,
`run_dedup`, …) are added so a developer can start working at once.
"""

from __future__ import annotations

from django.core.management.commands import shell
from django.utils.module_loading import import_string

SERVICE_MODULES = ("profiles.services", "dedup.services")


def _importable(path: str) -> bool:
    try:
        import_string(path)
    except ImportError:
        return False
    return True


class Command(shell.Command):
    def get_auto_imports(self) -> list[str]:
        services = [
            f"{module}.{name}"
            for module in SERVICE_MODULES
            for name in import_string(f"{module}.__all__")
        ]
        return [path for path in [*super().get_auto_imports(), *services] if _importable(path)]
