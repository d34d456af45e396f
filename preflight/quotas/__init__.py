"""Quotas: one declaration per quota (catalog), the limit chain that reads them (limits), the usage
counters keyed by quota (usage)."""
