from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from profiles.services.events import register_after_write
        from profiles.services.merging import register_after_merge, register_after_undo
        from segments.services import merges, realtime

        register_after_write(realtime.on_people_changed)
        register_after_merge(merges.after_merge)
        register_after_undo(merges.after_undo)
