"""Demo revenue configs (``seed_demo``): written once the demo courses exist."""


def seed_revenue(*, stdout) -> None:
    stdout.write("  revenue: no demo courses yet\n")
