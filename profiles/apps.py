from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "People"
    default_auto_field = "django.db.models.BigAutoField"
