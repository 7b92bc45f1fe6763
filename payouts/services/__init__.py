"""Payouts' writes, one module per topic: ledger (postings, balances), events (revenue events and releases),
clearing (pending to available), payouts (payouts, runs, holds), settings (accounts, tax info, schedules)."""
