"""Framework metric names in Labbook's vocabulary (train/..., val/..., lr), so a framework's curves land in
the same series as Labbook's own runs and compare with them."""

_PREFIXES = (("eval_", "val/"), ("val_", "val/"), ("valid_", "val/"), ("validation_", "val/"), ("test_", "test/"),
             ("train_", "train/"), ("eval/", "val/"), ("validation/", "val/"))
_RENAMED = {"loss": "train/loss", "learning_rate": "lr", "grad_norm": "train/grad_norm", "epoch": "epoch"}
_PLAIN = ("lr", "epoch", "step")


def labbook_key(key):
    """"eval_loss" -> "val/loss", "loss" -> "train/loss", "learning_rate" -> "lr", "lr-AdamW" -> "lr",
    "val/acc" stays; anything else is a training series: "foo" -> "train/foo"."""
    if key in _RENAMED:
        return _RENAMED[key]
    if key.startswith("lr-"):  # Lightning's LearningRateMonitor: "lr-AdamW", or "lr-AdamW/pg2" per group
        return "lr" if "/" not in key else "lr/" + key[3:]
    for prefix, replacement in _PREFIXES:
        if key.startswith(prefix):
            return replacement + key[len(prefix):]
    if "/" in key or key in _PLAIN:
        return key
    return "train/" + key
