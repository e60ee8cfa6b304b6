"""Which process of a multi-process job records the run: only the main one, so nothing is written twice.

Frameworks are consulted only when the script has imported them already (an import here would be slow and
could initialise an accelerator); launchers' environment variables cover the processes they start."""
import os
import sys

# Global ranks first: LOCAL_RANK is 0 on every node's first process, so it decides only when nothing else does.
_RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "LOCAL_RANK")


def _torch_distributed_rank():
    torch = sys.modules.get("torch")
    dist = getattr(torch, "distributed", None) if torch else None
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return dist.get_rank()
    except (RuntimeError, ValueError):
        pass
    return None


def _xla_ordinal():
    if "torch_xla" not in sys.modules:
        return None
    try:
        import torch_xla.runtime as xr  # torch_xla >= 2.x

        return xr.global_ordinal()
    except (ImportError, AttributeError, RuntimeError):
        pass
    try:
        import torch_xla.core.xla_model as xm

        return xm.get_ordinal()
    except (ImportError, AttributeError, RuntimeError):
        return None


def _accelerate_index():
    if "accelerate" not in sys.modules:
        return None
    try:
        from accelerate.state import PartialState

        if PartialState._shared_state:  # only a state the script has set up already; creating one starts a backend
            return PartialState().process_index
    except (ImportError, AttributeError, RuntimeError):
        pass
    return None


def process_rank():
    """This process's rank in its job (0 for a single process), and what told it."""
    for name, probe in (("torch.distributed", _torch_distributed_rank), ("torch_xla", _xla_ordinal),
                        ("accelerate", _accelerate_index)):
        rank = probe()
        if rank is not None:
            return int(rank), name
    for var in _RANK_VARIABLES:
        value = os.environ.get(var, "").strip()
        if value:
            try:
                rank = int(value)
            except ValueError:
                continue
            if rank >= 0:  # -1 is the usual "not a distributed job" (Hugging Face's local_rank), not a rank
                return rank, var
    return 0, "single process"


def is_main_process():
    return process_rank()[0] == 0
