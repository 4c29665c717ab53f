"""Training shared by every learning method: a resumable ``Trainer`` that runs a ``Learner``'s stages of
seeded steps into a checkpoint directory (periodic and Ctrl-C checkpoints, bit-identical resume, a file lock
so one unit never trains twice at once, progress bars or plain log lines, and a training card).

Files: ``trainer`` (Trainer, Learner, Stage), ``seeds`` (per-step generators), ``interrupt`` (Ctrl-C held
until a step is complete), ``store`` (directory names, atomic torch files, cards, the directory lock, loss-curve summaries),
``progress`` (terminal bars / plain lines), ``data`` (the training split of a dataset).
"""
from .data import training_split
from .interrupt import deferred_interrupt
from .seeds import derive_seed, seeded
from .store import curve_summary, directory_lock, is_complete, read_card, save_torch, unit_key, units_root, write_card
from .trainer import Learner, Stage, Trainer

__all__ = [
    "Learner", "Stage", "Trainer", "curve_summary", "deferred_interrupt", "derive_seed", "directory_lock",
    "is_complete", "read_card", "save_torch", "seeded", "training_split", "unit_key", "units_root", "write_card",
]
