"""The LR range test's arithmetic as Labbook's engine does it (core/train/lrfinder.cpp): the debiased EMA of
the loss (the divergence stop), the centred smoothing the suggestion reads (no lag), and the suggestion at its
steepest descent against log10(lr), looked for only up to its minimum and where it is at or below its median
there, and none where the loss falls by no more than its noise."""
import math


def rate(min_lr, max_lr, steps, i):
    """lr_i = min_lr * (max_lr / min_lr) ** (i / (steps - 1)), i = 0 .. steps - 1."""
    return min_lr if steps <= 1 else min_lr * (max_lr / min_lr) ** (i / (steps - 1))


class DebiasedEma:
    """An exponential moving average of the losses, debiased; non-finite losses are not averaged in."""

    def __init__(self, beta=0.98):
        self.beta, self.avg, self.count = beta, 0.0, 0

    def add(self, loss):
        if loss is not None and math.isfinite(loss):
            self.avg = self.beta * self.avg + (1.0 - self.beta) * loss
            self.count += 1
        return self.value()

    def value(self):
        return math.nan if self.count == 0 else self.avg / (1.0 - self.beta ** self.count)


def smooth(losses, beta=0.98):
    ema = DebiasedEma(beta)
    return [ema.add(loss) for loss in losses]


def diverged(smoothed, best, stop_factor=4.0):
    """True when a range test should stop: a non-finite loss, or the smoothed loss above stop_factor x best."""
    if not math.isfinite(smoothed):
        return True
    return math.isfinite(best) and smoothed > stop_factor * best


def half_width(points):
    """How many neighbours on each side curve() takes for a sweep of this many points."""
    return max(1, int(math.floor(points / 12 + 0.5)))


class _FiniteSums:
    """Sums over a range of the finite losses, of their positions times them, of their count and of their
    positions, from a segment tree: a range's sum adds only the losses inside it (a prefix-sum difference would
    cancel a huge loss, 1e30 before a divergence, into noise for every range after it)."""

    def __init__(self, losses):
        self.n = n = len(losses)
        self.tree = [(0.0, 0.0, 0.0, 0.0)] * (2 * n)
        for i, v in enumerate(losses):
            if v is not None and math.isfinite(v):
                self.tree[n + i] = (v, i * v, 1.0, float(i))
        for i in range(n - 1, 0, -1):
            a, b = self.tree[2 * i], self.tree[2 * i + 1]
            self.tree[i] = (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])

    def over(self, first, last):
        """The four sums over [first, last], inclusive."""
        v = jv = count = j = 0.0
        lo, hi = first + self.n, last + self.n + 1
        while lo < hi:
            for k in ((lo,) if lo & 1 else ()) + ((hi - 1,) if hi & 1 else ()):
                t = self.tree[k]
                v, jv, count, j = v + t[0], jv + t[1], count + t[2], j + t[3]
            lo, hi = (lo + (lo & 1)) // 2, (hi - (hi & 1)) // 2
        return v, jv, count, j


def curve(losses):
    """Each finite loss replaced by a triangle-weighted mean of its neighbours on both sides, over a sixth of the
    sweep (narrowed symmetrically at the ends); non-finite losses stay NaN and are left out of the means. The
    weights are half + 1 - |d|, so each mean comes from range sums (as the engine's lrFinderCurve)."""
    n = len(losses)
    half = half_width(n)
    sums = _FiniteSums(losses)
    out = []
    for i, loss in enumerate(losses):
        if loss is None or not math.isfinite(loss):
            out.append(math.nan)
            continue
        reach = min(half, i, n - 1 - i)
        v, _, count, _ = sums.over(i - reach, i + reach)
        left = sums.over(i - reach, i - 1) if reach else (0.0,) * 4
        right = sums.over(i + 1, i + reach) if reach else (0.0,) * 4
        weighted = (half + 1) * v - ((right[1] - i * right[0]) + (i * left[0] - left[1]))
        weights = (half + 1) * count - ((right[3] - i * right[2]) + (i * left[2] - left[3]))
        out.append(weighted / weights)
    return out


def _usable(lrs, smoothed):
    return [i for i in range(min(len(lrs), len(smoothed)))
            if smoothed[i] is not None and math.isfinite(smoothed[i]) and lrs[i] is not None
            and math.isfinite(lrs[i]) and lrs[i] > 0]


DESCENT_OVER_NOISE = 2.0  # how many times its noise the smoothed loss must fall for a descent


def _within_noise(losses, smoothed, pts):
    """A reason when the smoothed loss falls by less than DESCENT_OVER_NOISE times the raw losses' distance from it
    over the stretch read: a descent the step-to-step noise alone would draw (core/train/lrfinder.cpp)."""
    noise = math.sqrt(sum((losses[p] - smoothed[p]) ** 2 for p in pts) / len(pts))
    drop = max(smoothed[p] for p in pts) - smoothed[pts[-1]]
    if drop >= DESCENT_OVER_NOISE * noise:
        return None
    return (f"the loss did not clearly go down over the sweep (its smoothed curve fell by {drop:.3g}, within its "
            f"step-to-step noise ({noise:.3g})); widen the range or give it more steps")


def suggest(lrs, losses, skip_start=10, skip_end=1):
    """{"lr", "index", "method"} at the steepest descent of curve(losses); lr None with a "reason" when none can
    be made."""
    out = {"lr": None, "index": -1, "method": "steepest"}
    smoothed = curve(losses)
    idx = _usable(lrs, smoothed)
    half = half_width(len(losses))
    skip_start, skip_end = min(max(skip_start, half), len(idx) // 5), min(max(skip_end, half), len(idx) // 10)
    if len(idx) - skip_start - skip_end < 3:
        out["reason"] = (f"too few finite points ({len(idx)}) to find a slope; run more steps or lower the "
                         "highest rate")
        return out
    pts = idx[skip_start:len(idx) - skip_end]
    min_at = min(range(len(pts)), key=lambda i: (smoothed[pts[i]], i))
    if min_at < 1:
        out["reason"] = "the loss never went down over the sweep; start from a lower rate"
        return out
    pts = pts[:min_at + 1]
    flat = _within_noise(losses, smoothed, pts)
    if flat:
        out["reason"] = flat
        return out
    levels = sorted(smoothed[p] for p in pts)
    median = levels[len(levels) // 2]
    best = 0.0
    for i, p in enumerate(pts):
        if smoothed[p] > median:
            continue
        a, b = (0 if i == 0 else i - 1), (i + 1 if i + 1 < len(pts) else i)
        if a == b:
            continue
        dx = math.log10(lrs[pts[b]]) - math.log10(lrs[pts[a]])
        if dx <= 0:
            continue
        slope = (smoothed[pts[b]] - smoothed[pts[a]]) / dx
        if slope < best:
            best, out["index"] = slope, p
    if out["index"] < 0:
        out["reason"] = "no descending stretch in the smoothed loss"
        return out
    out["lr"] = lrs[out["index"]]
    return out
