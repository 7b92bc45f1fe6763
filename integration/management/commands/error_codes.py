"""``manage.py error_codes``: every error code of the catalogue, its status and the class that declares it."""

import importlib
import pkgutil

from django.apps import apps
from django.core.management.base import BaseCommand

from integration.errors import catalogue_entries, catalogue_problems


def import_every_module() -> None:
    """Error classes register when their module is imported; import every module of the served apps."""
    for config in apps.get_app_configs():
        if config.name.split(".")[0] not in {"integration", "identity", "catalog", "orders", "payouts",
                                              "learning", "revenue"}:
            continue
        package = importlib.import_module(config.name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{config.name}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)


class Command(BaseCommand):
    help = "Lists every error code with its HTTP status and the class that declares it (the error catalogue)."

    def handle(self, *args, **options):
        import_every_module()
        for entry in catalogue_entries():
            self.stdout.write(f"{entry.status_code}  {entry.code:40}  {entry.where}")
        for problem in catalogue_problems():
            self.stderr.write(self.style.ERROR(problem))
