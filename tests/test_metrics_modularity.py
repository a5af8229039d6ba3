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
    codes = ground_truth(grid) + np.random.default_rng(0).normal(scale=0.8, size=(grid.num_images, 3)).astype(np.float32)
    samples = modularity.sample(grid, np.random.default_rng(0), num_train=300, num_test=200)
    r = modularity.modularity_explicitness(codes, grid, np.random.default_rng(1), samples=samples,
                                           logreg_solver="liblinear")
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
