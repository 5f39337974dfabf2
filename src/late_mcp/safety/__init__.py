"""Exactly once and on the record: the journal (SQLite or Redis), reservations, idempotency
keys, confirmations, and the shared signing secret."""
