from django.apps import AppConfig


class DedupConfig(AppConfig):
    name = "dedup"
    verbose_name = "Deduplication"
    default_auto_field = "django.db.models.BigAutoField"
