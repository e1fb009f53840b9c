"""Operations: the delivery dashboard, alerts, Prometheus metrics and retention."""
