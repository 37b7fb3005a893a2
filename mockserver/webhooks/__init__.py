"""Webhook outbox delivery and signing (balance-api.md §7)."""
