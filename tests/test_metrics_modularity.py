import numpy as np
import pytest

from benchmark.metrics import modularity
from metrics_helpers import ground_truth, small_grid


def test_modularity_anchors():
    assert modularity.modularity(np.eye(3)) == pytest.approx(1.0)
    dead = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 0]])
    assert modularity.modularity(dead) == pytest.approx(2 / 3)
    split = np.zeros((1, 10))
    split[0, :2] = 0.7
    assert modularity.modularity(split) == pytest.approx(1 - 1 / 9)


def test_ground_truth_scores_near_one():
    g = small_grid()
    s = modularity.modularity_explicitness(ground_truth(g), g, np.random.default_rng(0), num_train=300, num_test=150)
    assert s["modularity_score"] > 0.98
    assert s["explicitness_score_test"] > 0.9 and s["explicitness_score_train"] > 0.9


def test_macro_auc_leaves_out_classes_missing_from_a_sample():
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.9, 0.05, 0.05]])
    y = np.array([0, 1, 0])  # class 2 never occurs: no ROC-AUC for it
    assert modularity._macro_auc(y, proba, np.array([0, 1, 2])) == pytest.approx(1.0)


def test_explicitness_with_the_2018_19_liblinear_default():
    from benchmark.errors import BenchmarkError
    from benchmark.metrics.utils import normalize_data
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.multiclass import OneVsRestClassifier

    grid = small_grid()
    codes = ground_truth(grid) + np.random.default_rng(0).normal(scale=0.8, size=(grid.num_images, 3)).astype(
        np.float32
    )
    samples = modularity.sample(grid, np.random.default_rng(0), num_train=300, num_test=200)
    r = modularity.modularity_explicitness(
        codes, grid, np.random.default_rng(1), samples=samples, logreg_solver="liblinear"
    )
    (y_tr, i_tr), (y_te, i_te) = samples
    xn_tr, mean, std = normalize_data(codes[i_tr])
    xn_te, _, _ = normalize_data(codes[i_te], mean, std)
    want = []
    for j in range(y_tr.shape[1]):  # macro ROC-AUC over classes, one-vs-rest liblinear fit
        clf = OneVsRestClassifier(LogisticRegression(solver="liblinear")).fit(xn_tr, y_tr[:, j])
        p = clf.predict_proba(xn_te)
        want.append(np.mean([roc_auc_score(y_te[:, j] == c, p[:, k]) for k, c in enumerate(clf.classes_)]))
    assert r["explicitness_score_test"] == pytest.approx(np.mean(want), abs=1e-12)
    with pytest.raises(BenchmarkError, match="logreg_solver"):
        modularity.modularity_explicitness(codes, grid, np.random.default_rng(1), samples=samples, logreg_solver="x")


def test_reference_values_on_edge_cases():
    from benchmark.data.grid import FactorGrid
    from benchmark.metrics.utils import ReferenceRandomState

    # Known answers from disentanglement_lib's compute_modularity_explicitness(num_train=300,
    # num_test=150, batch_size=16) with RandomState(7) on these codes (computed with the reference).
    grid = FactorGrid.build(["a", "b", "c"], [3, 4, 5])
    f = grid.latent_classes(np.arange(grid.num_images)).astype(float)
    noisy = f + np.random.RandomState(0).normal(size=(grid.num_images, 3))
    # a constant 0.1 float32 code: z-scored in float32 it is a constant -1 (its std is a rounding
    # residue), not 0 as float64 arithmetic would make it, and that moves the classifier
    codes = np.column_stack([noisy, np.full(grid.num_images, 0.1)]).astype(np.float32)
    got = modularity.modularity_explicitness(codes, grid, ReferenceRandomState(7), num_train=300, num_test=150)
    assert got["modularity_score"] == pytest.approx(0.36089654916607533, abs=1e-12)
    assert got["explicitness_score_train"] == pytest.approx(0.8143091552164984, abs=1e-12)
    assert got["explicitness_score_test"] == pytest.approx(0.8092991716740551, abs=1e-12)
    # a single factor: delta = 0/0 for every live code, modularity NaN (explicitness 1 here)
    g6 = FactorGrid.build(["a"], [6])
    c6 = np.column_stack(
        [np.arange(6.0) + np.random.RandomState(1).normal(size=6), np.random.RandomState(2).normal(size=6)]
    ).astype(np.float32)
    got = modularity.modularity_explicitness(c6, g6, ReferenceRandomState(7), num_train=300, num_test=150)
    assert np.isnan(got["modularity_score"])
    assert got["explicitness_score_train"] == 1.0 and got["explicitness_score_test"] == 1.0
    assert np.isnan(modularity.modularity(np.array([[0.3], [0.0]])))  # reference: nan
    assert modularity.modularity(np.zeros((2, 1))) == 0.0  # all codes dead: 0, as the reference


def test_a_test_sample_with_one_class_has_no_auc():
    x = np.random.RandomState(0).normal(size=(3, 30)).T
    y = np.array([0, 1] * 15)
    train, test = modularity.explicitness_per_factor(x, y, x[:3], np.array([1, 1, 1]))
    # the reference's explicitness_per_factor: (0.7333333333333334, nan) for a binary factor
    assert train == pytest.approx(0.7333333333333334, abs=1e-12) and np.isnan(test)
