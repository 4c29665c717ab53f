"""Adversarially robust face recognition targets.

``learner`` is the fine-tuning recipe as a shared-Trainer Learner (identity-agnostic feature-space AT, or
TRADES with an ArcFace head on identity-labelled data); ``train`` runs it for a zoo model and registers the
result as the tag ``NAME.at-eps4`` with its own thresholds (``fpbench zoo robustify``); ``data`` gathers the
face crops it trains on; ``attack`` is the cosine PGD both training and the report use; ``report`` measures a
natural model and its robust tags side by side (``fpbench zoo robustness``) and ``plot`` renders it.
"""
