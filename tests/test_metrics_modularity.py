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
