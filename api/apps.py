from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Website API"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from api import checks  # noqa: F401  (registers the deployment checks)
        from profiles.models import Site
        from profiles.services.sites import forget_sites

        # Cache invalidation only: a site saved or deleted here is seen by the next request.
        post_save.connect(forget_sites, sender=Site, dispatch_uid="api.forget_sites.save")
        post_delete.connect(forget_sites, sender=Site, dispatch_uid="api.forget_sites.delete")
