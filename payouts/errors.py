"""Payouts' error codes: one class each, raised with ``details`` only."""

from integration.errors import (
    ApplicationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnprocessableError,
)


class SaleNotPostedError(ConflictError):
    """A refund or a release whose sale has not arrived: 409, so the outbox retries it later."""

    code = "revenue_sale_not_posted"
    default_message = "The sale this refers to has not been posted yet; retry later."


class LedgerPostingConflictError(ConflictError):
    code = "ledger_posting_conflict"
    default_message = "Another delivery posted this at the same moment; retry to get its answer."


class LedgerUnbalancedError(ApplicationError):
    status_code = 500
    code = "ledger_unbalanced"
    default_message = "A ledger posting must have at least two legs whose credits equal their debits."


class LedgerAppendOnlyError(ApplicationError):
    status_code = 500
    code = "ledger_append_only"
    default_message = "Ledger entries are never updated or deleted; post a correcting entry instead."


class InsufficientBalanceError(UnprocessableError):
    code = "insufficient_balance"
    default_message = "The payout is larger than the available balance."


class PayoutAmountInvalidError(UnprocessableError):
    code = "payout_amount_invalid"
    default_message = "A payout amount is positive and in the currency's minor unit."


class PayoutsOnHoldError(UnprocessableError):
    code = "payouts_on_hold"
    default_message = "Payouts to this payee are on hold."


class TaxInfoMissingError(UnprocessableError):
    code = "tax_info_missing"
    default_message = "Add your tax information before a payout can be made."


class PayoutAccountMissingError(UnprocessableError):
    code = "payout_account_missing"
    default_message = "Add a payout account before a payout can be made."


class PayoutAccountInvalidError(UnprocessableError):
    code = "payout_account_invalid"
    default_message = "The payout account details are incomplete or malformed."


class PayoutNotFoundError(NotFoundError):
    code = "payout_not_found"
    default_message = "No such payout."


class PayoutStateError(ConflictError):
    code = "payout_state_invalid"
    default_message = "The payout is not in a state that allows this."


class PayoutHoldNotFoundError(NotFoundError):
    code = "payout_hold_not_found"
    default_message = "No active hold for this payee."


class StatementPeriodInvalidError(ApplicationError):
    status_code = 400
    code = "statement_period_invalid"
    default_message = "A statement period is a month written YYYY-MM."


class LedgerForbiddenError(ForbiddenError):
    code = "ledger_forbidden"
    default_message = "Only commerce-admins see another account's ledger."


class EncryptionKeyMissingError(ApplicationError):
    status_code = 500
    code = "payout_encryption_key_missing"
    default_message = "PAYOUT_ENCRYPTION_KEYS is not set."


class LedgerOutOfBalanceError(ApplicationError):
    status_code = 500
    code = "ledger_out_of_balance"
    default_message = "Some balances differ from the sum of their ledger entries."
