"""Turning what a training script hands over (floats, ints, 0-d tensors, numpy scalars, nested configs) into
JSON values the journal can hold. Nothing here imports torch or numpy: their values are recognised by the
methods they have (.item(), .tolist())."""
import math


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
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
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
    """A JSON-safe copy of a config or summary: non-finite floats become None, unknown objects their str()."""
    if depth > 32:
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    number = scalar(value)
    if number is not None:
        return finite_or_none(number)
    to_dict = getattr(value, "to_dict", None)  # transformers' TrainingArguments and configs
    if callable(to_dict):
        try:
            return jsonable(to_dict(), depth + 1)
        except Exception:  # noqa: BLE001 - a foreign object's to_dict may fail in any way; its text will do
            pass
    if hasattr(value, "__fspath__"):
        return str(value)
    return str(value)
