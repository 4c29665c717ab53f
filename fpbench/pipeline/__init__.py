"""The stages of a run (fit, protect, channel/restore, score, quality, card), the state they share, and the
executors that run their units. ``fpbench.runner`` strings them together."""
