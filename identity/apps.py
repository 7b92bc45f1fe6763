from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity and access"

    def ready(self) -> None:
        from identity import providers, schema, signals  # noqa: F401  (receivers and extensions register on import)
        from identity.admin_site import install

        providers.register()
        install()
