"""Turning what a training script hands over (floats, ints, 0-d tensors, numpy scalars, nested configs) into
JSON values the journal can hold. Nothing here imports torch or numpy: their values are recognised by the
methods they have (.item(), .tolist())."""
import dataclasses
import math
import sys
import types
from collections.abc import Mapping, Sequence

from ._report import warn


def scalar(value):
    """A plain int or float for a number-like value, or None when it is not one (a string, a list)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    item = getattr(value, "item", None)  # torch.Tensor, numpy scalars and 0-d arrays
    if callable(item):
        try:
            value = item()
        except (ValueError, RuntimeError, TypeError):  # a tensor of more than one element
            return None
        if isinstance(value, bool):  # numpy.bool_ and bool tensors: a flag logged as 0 or 1
            return int(value)
        return value if isinstance(value, (int, float)) else None
    return None


def finite_or_none(value):
    """value as JSON's number, None for NaN and infinities (the store keeps those as gaps)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def as_list(values):
    """A list of Python numbers (or nested lists) from a list, tuple, tensor or array."""
    if values is None:
        return None
    detach = getattr(values, "detach", None)
    if callable(detach):  # a torch tensor, perhaps on an accelerator
        values = detach().cpu()
    tolist = getattr(values, "tolist", None)
    if callable(tolist):
        return tolist()
    return list(values)


def jsonable(value, depth=0):
    """A JSON-safe copy of a config or summary: mappings (dicts, OmegaConf, MappingProxyType), argparse
    Namespaces and dataclasses become objects; tuples, sets, arrays and tensors lists; paths and unknown objects
    their text; non-finite floats None."""
    if depth > 32:
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, Mapping):  # dict, MappingProxyType, UserDict, OmegaConf's DictConfig
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (isinstance(value, Sequence) and not isinstance(value, _BYTES)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):  # no order of their own: sorted, so that equal configs read alike
        return sorted((jsonable(v, depth + 1) for v in value), key=repr)
    converted = _converted(value)
    if converted is not None:
        return jsonable(converted, depth + 1)
    number = scalar(value)  # anything else with .item()
    if number is not None:
        return finite_or_none(number)
    if hasattr(value, "__fspath__"):
        return str(value.__fspath__())
    return str(value)


_BYTES = (bytes, bytearray, memoryview)


def _converted(value):
    """Plain values for the objects configs are made of, or None for anything else."""
    to_dict = getattr(value, "to_dict", None)  # transformers' TrainingArguments (its to_dict hides hub tokens)
    if callable(to_dict):
        try:
            return to_dict()
        except Exception:  # noqa: BLE001 - a foreign object's to_dict may fail in any way; what follows will do
            pass
    argparse = sys.modules.get("argparse")  # a Namespace means the script imported it; no import here
    if isinstance(value, types.SimpleNamespace) or (argparse and isinstance(value, argparse.Namespace)):
        return vars(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Field by field rather than dataclasses.asdict, which deep-copies every value and fails on those it cannot.
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if callable(getattr(value, "tolist", None)):  # tensors, arrays and numpy scalars: Python numbers and lists
        try:
            return as_list(value)
        except Exception:  # noqa: BLE001 - a foreign object's tolist may fail in any way; its text will do
            pass
    return None


def config_object(config, where="labbook.init(config=...)"):
    """A run's config as a JSON object: None is {}, and a value that is not a mapping after conversion (a
    list, a string) is kept as {"value": ...}, said once, so the run is recorded all the same."""
    if config is None:
        return {}
    value = jsonable(config)
    if isinstance(value, dict):
        return value
    warn(f"{where}: a {type(config).__name__} is not a set of named settings; recorded as "
         '{"value": ...}; give a dict, an argparse.Namespace or a dataclass', key=f"config-type:{where}")
    return {"value": value}
