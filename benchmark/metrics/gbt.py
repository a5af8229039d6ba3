"""Gradient-boosted classification trees: scikit-learn's ``GradientBoostingClassifier()`` defaults,
re-implemented in vectorised NumPy for dense data (the reference DCI classifier, several times faster).

The reference DCI fits ``sklearn.ensemble.GradientBoostingClassifier()`` (100 stages, depth-3
regression trees, learning rate 0.1, log-loss, subsample 1, all features at every split) on
10,000 points per factor. scikit-learn grows every tree on its own and re-sorts each feature at
every node, which makes a many-class factor take minutes (timings: docs/performance.md).
This module runs the *same algorithm* (Friedman 2001, "Greedy Function Approximation", Algorithm 6
with scikit-learn's conventions) but sorts each feature once and grows the K trees of a stage
together, level by level, as array operations. What it reproduces, step by step:

* inputs cast to float32 as scikit-learn does; classes are the sorted unique labels;
* initial raw scores from the class priors (clipped to [eps, 1 - eps]): the symmetric multinomial
  logit ``log p_k - mean(log p)`` for K > 2 classes, ``logit p_1`` for two;
* each stage fits one squared-error regression tree per class (one tree for two classes) to the
  negative gradient ``y_k - p_k`` computed once per stage; a node splits at the position that
  maximises ``S_l^2 / n_l + S_r^2 / n_r`` (the squared-error proxy; ``friedman_mse``, the default
  of older scikit-learn releases, ranks splits identically); only between sorted feature values
  more than 1e-7 apart; threshold at the midpoint of the two values; a node is a leaf at depth 3,
  with fewer than 2 samples, with impurity <= machine epsilon, or with no valid split; equal
  improvements on different features are resolved at random (scikit-learn visits the features in a
  random order per node), the first position wins within a feature;
* leaves take one Newton step: ``mean(y - p) / mean(p (1 - p))``, times ``(K - 1) / K`` for K > 2
  (0 where the denominator is below 1e-150); raw scores move by 0.1 x leaf value;
* ``feature_importances_``: per tree, the impurity decrease ``N_t i_t - N_l i_l - N_r i_r`` summed
  per feature and divided by the number of samples; averaged over the trees that split at least
  once, normalised to sum 1;
* ``predict``: arg-max of the raw scores (``raw >= 0`` for two classes).

Sums are accumulated in a different order than scikit-learn's Cython loops, so results agree to
float64 rounding: splits, leaves and predictions are identical except where splits on different
features score the same in exact arithmetic. That is frequent (at stage 0 a tree's residuals take
two values, and two features often cut off the same samples of a node, sometimes as mirror
images). Where the computed scores are bit-identical, both implementations pick at random. Where
rounding separates them, each implementation follows its own rounding, deterministically, and the
two rules differ: the split is the same, but the importance goes to another feature. Over a fit
this spreads the importances slightly more than scikit-learn does (DCI disentanglement and
completeness 0.001-0.005 lower; ``benchmarks/bench_dci_agreement.py``). Reproducing scikit-learn's
rule would need its exact summation order, which depends on the order samples sit in a node after
its random feature visits (docs/performance.md records what was tried). ``tests/test_metrics_gbt.py``
checks the agreement;
``benchmarks/bench_dci_ties.py`` and ``bench_dci_agreement.py`` measure the DCI differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.errors import BenchmarkError

FEATURE_THRESHOLD = 1e-7  # scikit-learn's minimum gap between feature values at a split
EPSILON = np.finfo(np.float64).eps


@dataclass
class BoostedTrees:
    """A fitted ensemble; trees are stored in heap order (children of node i: 2i+1, 2i+2).

    Attributes
    ----------
    classes : ndarray (K,)
    init : ndarray (T,)
        Initial raw score of each of the T trees per stage (T = K, or 1 for two classes).
    feature : ndarray (stages, T, nodes) int
        Split feature of each node, -1 for leaves and unused nodes.
    threshold : ndarray (stages, T, nodes) float64
        Go left when ``x[feature] <= threshold``.
    value : ndarray (stages, T, nodes) float64
        Leaf values (before the learning rate).
    learning_rate : float
    feature_importances : ndarray (D,)
        Normalised impurity-based importances (scikit-learn's ``feature_importances_``).
    """

    classes: np.ndarray
    init: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    learning_rate: float
    feature_importances: np.ndarray
    train_raw: np.ndarray | None = None  # (n, T) raw scores of the training points (= decision_function)

    def decision_function(self, x) -> np.ndarray:
        """Raw scores ``(n, T)``."""
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        stages, trees, nodes = self.feature.shape
        depth = int(np.log2(nodes + 1)) - 1
        raw = np.tile(self.init, (len(x), 1))
        rows = np.arange(len(x))[None, :]
        tree_idx = np.arange(trees)[:, None]
        for s in range(stages):
            pos = np.zeros((trees, len(x)), dtype=np.int64)
            for _ in range(depth):
                f = self.feature[s][tree_idx, pos]
                leaf = f < 0
                right = x[rows, np.where(leaf, 0, f)] > self.threshold[s][tree_idx, pos]
                pos = np.where(leaf, pos, 2 * pos + 1 + right)
            raw += self.learning_rate * self.value[s][tree_idx, pos].T
        return raw

    def predict(self, x=None) -> np.ndarray:
        """Class labels of ``x`` (default: the training points, from their stored raw scores)."""
        raw = self.train_raw if x is None else self.decision_function(x)
        if raw.shape[1] == 1:
            return self.classes[(raw[:, 0] >= 0).astype(int)]
        return self.classes[np.argmax(raw, axis=1)]


def _stats(pos_local, active, values, groups):
    """Per (tree, group) count, sum and sum of squares of ``values`` over the active samples."""
    trees = pos_local.shape[0]
    flat = (np.arange(trees)[:, None] * groups + pos_local)[active]
    v = values[active]
    size = trees * groups
    n = np.bincount(flat, minlength=size).reshape(trees, groups).astype(np.float64)
    s = np.bincount(flat, weights=v, minlength=size).reshape(trees, groups)
    sq = np.bincount(flat, weights=v * v, minlength=size).reshape(trees, groups)
    return n, s, sq


def _impurity(n, s, sq):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, sq / np.maximum(n, 1) - (s / np.maximum(n, 1)) ** 2, 0.0)


def _grow_trees(g, xt, xs, order, gaps_ok, rng, max_depth):
    """Grow T regression trees on the targets ``g`` (T, n) at once.

    ``xt`` (D, n) holds the features by sample, ``order`` (D, n) each feature's stable sort order,
    ``xs`` (D, n) the sorted values and ``gaps_ok`` (D, n - 1) where consecutive sorted values are
    more than FEATURE_THRESHOLD apart. Returns (feature, threshold, leaf of every sample (T, n),
    per-tree importances (T, D)).
    """
    trees, n = g.shape
    num_features = xs.shape[0]
    nodes = 2 ** (max_depth + 1) - 1
    feature = np.full((trees, nodes), -1, dtype=np.int64)
    threshold = np.full((trees, nodes), -2.0)
    importance = np.zeros((trees, num_features))
    t_idx = np.arange(trees)[:, None]
    pos = np.zeros((trees, n), dtype=np.int64)  # heap index of each sample's node
    active = np.ones((trees, n), dtype=bool)  # False once the sample's node is a leaf
    for depth in range(max_depth + 1):
        groups = 2**depth
        base = groups - 1
        local = np.where(active, pos - base, groups)  # ``groups`` = a sentinel for finished samples
        n_node, s_node, sq_node = _stats(local, active, g, groups)
        imp_node = _impurity(n_node, s_node, sq_node)
        if depth > 0:  # impurity decrease of the parents that split into these nodes
            parents = np.arange(groups // 2)
            n_p = n_node[:, 0::2] + n_node[:, 1::2]
            s_p = s_node[:, 0::2] + s_node[:, 1::2]
            sq_p = sq_node[:, 0::2] + sq_node[:, 1::2]
            gain = (
                n_p * _impurity(n_p, s_p, sq_p)
                - n_node[:, 0::2] * imp_node[:, 0::2]
                - n_node[:, 1::2] * imp_node[:, 1::2]
            )
            split_f = feature[:, (groups // 2 - 1) + parents]
            has = split_f >= 0
            np.add.at(importance, (np.broadcast_to(t_idx, split_f.shape)[has], split_f[has]), gain[has] / n)
        if depth == max_depth:
            break
        splittable = (n_node >= 2) & (imp_node > EPSILON)
        if not splittable.any():
            break
        best = np.full((trees, groups), -np.inf)
        best_prio = np.full((trees, groups), np.inf)
        best_f = np.full((trees, groups), -1, dtype=np.int64)
        best_thr = np.zeros((trees, groups))
        prio = rng.random((num_features, trees, groups))  # random feature order per node for ties
        # Per sorted position (a row per tree, nodes in order, then the finished samples), the
        # statistics of the position's node: computed once per level, shared by every feature.
        counts = np.concatenate([n_node, n - n_node.sum(axis=1, keepdims=True)], axis=1).astype(np.int64)
        starts = np.cumsum(counts, axis=1) - counts  # first position of each node in its row
        flat_counts = counts.ravel()
        nonempty = flat_counts > 0
        seg_starts = (np.arange(trees)[:, None] * n + starts).ravel()[nonempty]

        def per_position(v):
            return np.repeat(np.asarray(v).ravel(), flat_counts)

        n_l = np.tile(np.arange(1, n + 1, dtype=np.float64), trees) - per_position(starts)
        n_r = per_position(counts) - n_l
        sum_node = per_position(np.concatenate([s_node, np.zeros((trees, 1))], axis=1))
        # a split after a position needs a splittable node and a next member of the same node
        level_bad = ~per_position(np.concatenate([splittable, np.zeros((trees, 1), bool)], axis=1)) | (n_r <= 0)
        n_r[n_r <= 0] = 1.0  # those positions are masked; avoid dividing by zero
        local8 = local.astype(np.int8)
        before_idx = np.maximum(starts - 1, 0)
        seg_of = np.arange(trees * (groups + 1)).reshape(trees, groups + 1)[:, :groups]
        seg_bounds = np.arange(trees)[:, None] * n + np.concatenate([starts, np.full((trees, 1), n)], axis=1)
        proxy = np.empty(trees * n)
        right = np.empty(trees * n)
        for f in range(num_features):
            o = order[f]
            if groups > 1:  # group the samples by node, keeping the feature order within a node
                perm = np.argsort(local8[:, o], axis=1, kind="stable")
                gs = np.take_along_axis(g, o[perm], axis=1)
                xv = xs[f][perm].ravel()
                bad = np.empty(trees * n, dtype=bool)
                np.less_equal(xv[1:], xv[:-1] + FEATURE_THRESHOLD, out=bad[:-1])  # row ends: masked by n_r
                bad[-1] = True
                bad |= level_bad
            else:
                gs = g[:, o]
                xv = np.tile(xs[f], trees) if trees == 1 else None  # looked up modulo n below
                bad = np.tile(np.append(~gaps_ok[f], True), trees) | level_bad
            cs = np.cumsum(gs, axis=1)
            before = np.where(starts > 0, np.take_along_axis(cs, before_idx, axis=1), 0.0)
            s_l = cs.ravel()
            s_l -= per_position(before)
            # squared-error proxy S_l^2 / n_l + S_r^2 / n_r, in place
            np.subtract(sum_node, s_l, out=right)
            np.multiply(right, right, out=right)
            np.divide(right, n_r, out=right)
            np.multiply(s_l, s_l, out=proxy)
            np.divide(proxy, n_l, out=proxy)
            proxy += right
            proxy[bad] = -np.inf
            node_max = np.full(trees * (groups + 1), -np.inf)
            node_max[nonempty] = np.maximum.reduceat(proxy, seg_starts)
            v = node_max[seg_of]
            better = (v > best) | ((v == best) & (v > -np.inf) & (prio[f] < best_prio))
            for t, j in zip(*np.nonzero(better)):  # the first position reaching the maximum (few nodes)
                a = seg_bounds[t, j]
                p = a + int(np.argmax(proxy[a : seg_bounds[t, j + 1]]))
                lo, hi = (xv[p], xv[p + 1]) if xv is not None else (xs[f][p % n], xs[f][p % n + 1])
                thr = lo / 2.0 + hi / 2.0
                if thr == hi or np.isinf(thr):
                    thr = lo
                best[t, j], best_prio[t, j], best_f[t, j], best_thr[t, j] = v[t, j], prio[f, t, j], f, thr
        does_split = best > -np.inf
        feature[:, base : base + groups] = np.where(does_split, best_f, -1)
        threshold[:, base : base + groups] = np.where(does_split, best_thr, -2.0)
        # route the samples of split nodes to their children; the others stay in a leaf
        loc = np.minimum(local, groups - 1)
        goes = active & does_split[t_idx, loc]
        f_s = best_f[t_idx, loc]
        xval = xt[np.maximum(f_s, 0), np.arange(n)[None, :]]
        right = xval > best_thr[t_idx, loc]
        pos = np.where(goes, 2 * pos + 1 + right, pos)
        active = goes
    return feature, threshold, pos, importance


def fit_gradient_boosting(
    x, y, rng: np.random.Generator, n_estimators: int = 100, learning_rate: float = 0.1, max_depth: int = 3
) -> BoostedTrees:
    """Fit ``GradientBoostingClassifier(n_estimators, learning_rate, max_depth)``'s algorithm.

    Parameters
    ----------
    x : array-like (n, D)
        Features (cast to float32, as scikit-learn does).
    y : array-like (n,)
        Class labels (at least two distinct values).
    rng : numpy.random.Generator
        Breaks ties between equally good splits on different features.
    n_estimators, learning_rate, max_depth
        scikit-learn's defaults.

    Returns
    -------
    BoostedTrees
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise BenchmarkError(f"gradient boosting needs x (n, D) and y (n,); got {x.shape} and {y.shape}")
    xt = np.ascontiguousarray(x.astype(np.float32).T, dtype=np.float64)
    if not np.isfinite(xt).all():
        raise BenchmarkError("gradient boosting got NaN or infinite features")
    classes, yk = np.unique(y, return_inverse=True)
    num_classes, n = len(classes), len(y)
    if num_classes < 2:
        raise BenchmarkError(f"gradient boosting needs at least two classes; y has only {classes.tolist()}")
    order = np.argsort(xt, axis=1, kind="stable")
    xs = np.take_along_axis(xt, order, axis=1)
    gaps_ok = xs[:, 1:] > xs[:, :-1] + FEATURE_THRESHOLD

    eps = np.finfo(np.float64).eps
    prior = np.clip(np.bincount(yk, minlength=num_classes) / n, eps, 1 - eps)
    if num_classes == 2:
        init = np.array([np.log(prior[1] / (1 - prior[1]))])
        target = (yk == 1)[None, :].astype(np.float64)
    else:
        init = np.log(prior) - np.mean(np.log(prior))  # symmetric multinomial logit
        target = (yk[None, :] == np.arange(num_classes)[:, None]).astype(np.float64)
    trees = len(init)
    nodes = 2 ** (max_depth + 1) - 1
    raw = np.repeat(init[:, None], n, axis=1)
    t_idx = np.arange(trees)[:, None]
    features = np.empty((n_estimators, trees, nodes), dtype=np.int64)
    thresholds = np.empty((n_estimators, trees, nodes))
    values = np.zeros((n_estimators, trees, nodes))
    importances = []
    for stage in range(n_estimators):
        if num_classes == 2:
            prob = 1.0 / (1.0 + np.exp(-raw))
        else:
            e = np.exp(raw - raw.max(axis=0, keepdims=True))
            prob = e / e.sum(axis=0, keepdims=True)
        neg_grad = target - prob
        feature, threshold, leaf, importance = _grow_trees(neg_grad, xt, xs, order, gaps_ok, rng, max_depth)
        # one Newton step per leaf
        flat = (t_idx * nodes + leaf).ravel()
        p = target - neg_grad
        count = np.bincount(flat, minlength=trees * nodes).reshape(trees, nodes)
        num = np.bincount(flat, weights=neg_grad.ravel(), minlength=trees * nodes).reshape(trees, nodes)
        den = np.bincount(flat, weights=(p * (1 - p)).ravel(), minlength=trees * nodes).reshape(trees, nodes)
        safe = np.maximum(count, 1)
        num, den = num / safe, den / safe
        if num_classes > 2:
            num = num * ((num_classes - 1) / num_classes)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where((count > 0) & (np.abs(den) >= 1e-150), num / den, 0.0)
        raw += learning_rate * value[t_idx, leaf]
        features[stage], thresholds[stage], values[stage] = feature, threshold, value
        importances.append(importance[feature[:, 0] >= 0])  # trees that split at least once
    relevant = np.concatenate(importances)
    if len(relevant) == 0:
        fi = np.zeros(xt.shape[0])
    else:
        fi = relevant.mean(axis=0)
        fi = fi / fi.sum()
    return BoostedTrees(classes, init, features, thresholds, values, learning_rate, fi, raw.T.copy())
