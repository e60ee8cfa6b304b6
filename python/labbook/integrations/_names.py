"""Framework metric names in Labbook's vocabulary (train/..., val/..., lr), so a framework's curves land in
the same series as Labbook's own runs and compare with them."""

_PREFIXES = (("eval_", "val/"), ("val_", "val/"), ("valid_", "val/"), ("validation_", "val/"), ("test_", "test/"),
             ("train_", "train/"), ("eval/", "val/"), ("validation/", "val/"))
_RENAMED = {"loss": "train/loss", "learning_rate": "lr", "grad_norm": "train/grad_norm", "epoch": "epoch"}
_PLAIN = ("lr", "epoch", "step")


# The Trainer's timings of a stage ("eval_runtime", "train_samples_per_second"): under val/ they would be taken for
# figures of the split, with a "best" kept; they are speeds, a series of their own.
_SPEEDS = ("_runtime", "_samples_per_second", "_steps_per_second")


def labbook_key(key):
    """"eval_loss" -> "val/loss", "loss" -> "train/loss", "learning_rate" -> "lr", "lr-AdamW" -> "lr",
    "eval_runtime" -> "speed/val_runtime", "val/acc" stays; anything else is a training series: "foo" ->
    "train/foo"."""
    if key in _RENAMED:
        return _RENAMED[key]
    if "/" not in key and key.endswith(_SPEEDS):
        return _speed_key(key)
    if key.startswith("lr-"):  # Lightning's LearningRateMonitor: "lr-AdamW", or "lr-AdamW/pg2" per group
        return "lr" if "/" not in key else "lr/" + key[3:]
    for prefix, replacement in _PREFIXES:
        if key.startswith(prefix):
            return replacement + key[len(prefix):]
    if "/" in key or key in _PLAIN:
        return key
    return "train/" + key


def _speed_key(key):
    """"eval_runtime" -> "speed/val_runtime", "train_samples_per_second" -> "speed/train_samples_per_second"."""
    for prefix, replacement in _PREFIXES:
        if key.startswith(prefix):
            return "speed/" + replacement[:-1] + "_" + key[len(prefix):]
    return "speed/" + key
