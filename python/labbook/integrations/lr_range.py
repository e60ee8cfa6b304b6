"""LR range tests into a run: record one that Lightning (Tuner.lr_find, the LearningRateFinder callback) or any
other tool made, or run one on a plain PyTorch model. Either way the run gets the curve and a suggestion that
Labbook's LR-finder view shows as it shows its own (`lbk lr-find`). torch is imported only by range_test."""
import copy
import math

from .. import lr_finder as _lr
from .._values import scalar


def record(run, result, suggestion=None, method=None):
    """result: Lightning's finder (its .results {"lr", "loss"} are smoothed already, and its own suggestion is
    kept unless one is given), a {"lr": [...], "loss": [...]} dict of raw losses, or (lr, loss) pairs."""
    results = getattr(result, "results", None)
    if isinstance(results, dict) and "lr" in results and "loss" in results:
        points = [{"lr": lr, "loss": loss, "smoothed": loss} for lr, loss in zip(results["lr"], results["loss"])]
        if suggestion is None:
            suggestion = _lightning_suggestion(result)
        return run.lr_finder(points, suggestion, method=method or ("lightning" if suggestion is not None else None))
    return run.lr_finder(result, suggestion, method=method)


def _lightning_suggestion(finder):
    try:
        lr = finder.suggestion()
    except Exception:  # noqa: BLE001 - Lightning raises when it cannot suggest; Labbook's rule then decides
        return None
    if lr is None:
        return None
    return {"lr": float(lr), "index": int(getattr(finder, "_optimal_idx", -1) or -1)}


def range_test(run, model, optimizer, loss_of_batch, batches, min_lr=1e-7, max_lr=10.0, steps=100, beta=0.98,
               stop_factor=4.0):
    """Smith's range test on a PyTorch model, Labbook's way (core/train/lrfinder): exponentially spaced rates,
    the debiased EMA, a stop once the smoothed loss passes stop_factor x its best. loss_of_batch(batch) returns
    the loss tensor; batches is re-iterated as needed. Model and optimizer are restored afterwards. Records
    the curve in `run` and returns the suggestion."""
    saved_model, saved_opt = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    try:
        points = _sweep(model, optimizer, loss_of_batch, batches, min_lr, max_lr, steps, beta, stop_factor)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
    return run.lr_finder(points)


def _cycle(batches):
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ValueError("range_test: batches holds no batch")


def _sweep(model, optimizer, loss_of_batch, batches, min_lr, max_lr, steps, beta, stop_factor):
    """As core/engine/lrfind.cpp: a non-finite loss takes no step and smooths to NaN; stop checks from step 5."""
    ema, best, points = _lr.DebiasedEma(beta), math.inf, []
    model.train()
    for i, batch in zip(range(steps), _cycle(batches)):
        lr = _lr.rate(min_lr, max_lr, steps, i)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        loss = loss_of_batch(batch)
        value = float(scalar(loss))
        if math.isfinite(value):
            loss.backward()
            optimizer.step()
        smoothed = ema.add(value)
        points.append({"lr": lr, "loss": value, "smoothed": smoothed if math.isfinite(value) else math.nan})
        if math.isfinite(smoothed):
            best = min(best, smoothed)
        if i >= 5 and (not math.isfinite(value) or _lr.diverged(smoothed, best, stop_factor)):
            break
    return points
