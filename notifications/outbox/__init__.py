"""The outbox: the backend's payload, the delivery worker, send rate, providers and failover."""
