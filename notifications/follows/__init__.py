"""Follows and follower alerts: the social feature, a client of the outbox like any other app."""
