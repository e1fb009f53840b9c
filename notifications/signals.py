"""Signal receivers of the notifications app (tracking webhooks connect here)."""
