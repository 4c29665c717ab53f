"""Data-parallel training over several processes started by torchrun (``fpbench train METHOD --nproc N``).

Every process (rank) builds the same learner from the same seeds and draws the same random numbers for the
whole (global) batch, then computes its losses on its own slice of it (``shard``). Before each optimiser
step the gradients are averaged over the ranks (``average_gradients``: the all-reduce DDP does, hooked on the
optimisers because a learner may train different sub-networks in different stages and call them
functionally), so every rank takes the same step and the weights stay identical. Rank 0 alone writes files
and reports progress; the loss values it records are the mean over ranks, i.e. the global batch's.

Backends: gloo on CPU, nccl on CUDA. Batch normalisation normalises each rank's slice (as DDP does without
SyncBatchNorm, which has no CPU kernel), so a learner with batch norm matches one process only up to that;
otherwise the losses equal one process's at the same global batch up to the order of the reduction.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

import torch
import torch.distributed as dist

from ..errors import BadInput


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if world_size() > 1 else 0


def is_main() -> bool:
    """Whether this process writes files and reports (rank 0, or the only process)."""
    return rank() == 0


def launched() -> bool:
    """Whether torchrun started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: torch.device) -> None:
    """Join the process group torchrun set up (gloo on CPU, nccl on CUDA); nothing when not launched."""
    if not launched() or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(batch: torch.Tensor) -> torch.Tensor:
    """This rank's rows of a global batch (all of it in one process); equal slices, so that the mean of the
    ranks' mean losses is the global batch's mean."""
    size = world_size()
    if size == 1:
        return batch
    if batch.shape[0] % size:
        raise BadInput(f"a batch of {batch.shape[0]} cannot be split evenly over {size} processes; choose --nproc "
                       "dividing the profile's batch size")
    return batch.chunk(size)[rank()]


def mean(value: torch.Tensor) -> torch.Tensor:
    """``value`` averaged over the ranks (a copy; ``value`` itself in one process)."""
    if world_size() == 1:
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / world_size()


def mean_losses(row: Mapping[str, float]) -> dict[str, float]:
    """A step's loss values averaged over the ranks (the global batch's), in the same order."""
    if world_size() == 1:
        return dict(row)
    values = mean(torch.tensor(list(row.values()), dtype=torch.float64))
    return dict(zip(row, values.tolist()))


def _average_gradients(optimizer: torch.optim.Optimizer, *_: Any) -> None:
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def average_gradients(optimizers: Iterable[torch.optim.Optimizer]) -> list[Any]:
    """Hook every optimiser so that its step first averages its gradients over the ranks; returns the hook
    handles (``.remove()`` them when done)."""
    if world_size() == 1:
        return []
    return [opt.register_step_pre_hook(_average_gradients) for opt in optimizers]


def start_from_main(learner: Any) -> None:
    """Give every rank rank 0's learner state (``state_dict``/``load_state_dict``), as DDP broadcasts rank 0's
    parameters: the ranks then agree even where a learner's initialisation is not seeded."""
    if world_size() == 1:
        return
    box = [learner.state_dict() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    if not is_main():
        learner.load_state_dict(box[0])


def agree(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank (a collective: every rank waits for rank 0)."""
    if world_size() == 1:
        return flag
    box = [flag]
    dist.broadcast_object_list(box, src=0)
    return bool(box[0])


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()
