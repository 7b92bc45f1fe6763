from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity and access"

    def ready(self) -> None:
        from identity import providers, schema, signals  # noqa: F401  (receivers and extensions register on import)
        from identity.admin import third_party_admins_replace
        from identity.admin_site import install

        providers.register()
        install()
        third_party_admins_replace()
        _register_security_hooks()
        post_migrate.connect(site_sync_after_migrate, sender=self, dispatch_uid="identity.site_sync")


def site_sync_after_migrate(sender, **kwargs) -> None:
    from identity.services.site import site_sync

    site_sync(using=kwargs.get("using", "default"))


def _register_security_hooks() -> None:
    """Login attempts counted in the database; service tokens checked against their client's state."""
    from identity.services.service_clients import service_client_token_check
    from identity.throttle_store import DatabaseAttemptStore
    from integration.service_auth import service_client_checker_register
    from integration.throttle import attempt_store_register

    attempt_store_register(DatabaseAttemptStore())
    service_client_checker_register(service_client_token_check)
