"""Delivery tracking: provider webhooks, events and the suppression list."""
