"""What payouts answers through integration: its message handlers, PayoutsPort, and the seed and reconcile hooks."""

from integration import registry
from integration.contracts.payouts import LedgerSalePage, PayoutsPersonalData
from integration.ports.base import implement
from integration.ports.payouts import PayoutsPort
from integration.topics import Topic
from payouts import handlers, selectors
from payouts.errors import LedgerOutOfBalanceError


class LocalPayouts(PayoutsPort):
    def personal_data(self, *, user_id: str) -> PayoutsPersonalData:
        data = selectors.personal_data(payee_user_id=str(user_id))
        return PayoutsPersonalData(balances=tuple(data["balances"]), ledger=tuple(data["ledger"]),
                                   payouts=tuple(data["payouts"]), payout_account=data["payoutAccount"],
                                   tax_info=data["taxInfo"])

    def ledger_sales(self, *, after: str | None = None, limit: int | None = None) -> LedgerSalePage:
        return LedgerSalePage.from_wire(selectors.ledger_sales_page(after=after, limit=limit))


def reconcile_ledger(*, stdout, full: bool = False) -> None:
    """``manage.py reconcile ledger``: every balance against the sum of its entries, every posting balanced."""
    report = selectors.ledger_reconcile()
    stdout.write(f"  {report.balances_checked} balance(s) checked against {report.entries_summed} payee "
                 f"ledger entries\n")
    for difference in report.differences:
        stdout.write(f"  DIFFERENCE {difference['payeeUserId']} {difference['currency']} {difference['column']}: "
                     f"balance {difference['balance']}, ledger {difference['ledger']}\n")
    for posting_id in report.unbalanced_postings:
        stdout.write(f"  UNBALANCED posting {posting_id}\n")
    if not report.ok:
        raise LedgerOutOfBalanceError(details={"differences": len(report.differences),
                                               "unbalancedPostings": len(report.unbalanced_postings)})
    stdout.write("  every balance equals its ledger entries; every posting balances (nothing to fix)\n")


def seed_payouts(*, stdout) -> None:
    from payouts.seed import seed_payouts as seed

    seed(stdout=stdout)


def register() -> None:
    registry.register_handler(Topic.REVENUE_EVENTS, handlers.handle_revenue_events)
    registry.register_handler(Topic.REVENUE_RELEASES, handlers.handle_revenue_releases)
    # Identity (Commerce, like payouts) sends the erasure to the LMS; payouts acts on it as it is delivered.
    registry.register_reply_handler(Topic.USER_ERASED, handlers.user_erased_delivered)
    registry.register_provider("reconcile.ledger", reconcile_ledger)
    registry.register_provider("seed.payouts", seed_payouts)
    implement(PayoutsPort, LocalPayouts())
