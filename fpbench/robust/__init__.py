"""Adversarially robust face recognition targets.

``train`` fine-tunes a zoo model adversarially into a tag ``NAME.at-eps4`` (identity-agnostic feature-space
AT, or TRADES with an ArcFace head on identity-labelled data) through the shared Trainer; ``data`` gathers
the face crops it trains on; ``attack`` is the cosine PGD both use; ``report`` measures a natural model and
its robust tags side by side (``fpbench zoo robustness``) and ``plot`` draws accuracy against eps.
"""
