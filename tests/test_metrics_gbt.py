"""The NumPy gradient-boosted trees reproduce scikit-learn's GradientBoostingClassifier()."""

import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier

from benchmark.errors import BenchmarkError
from benchmark.metrics.gbt import fit_gradient_boosting


def _data(num_classes, n=1500, seed=0, features=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (np.floor(x[:, 0] * 1.5) + np.floor(x[:, 1] * 2) + rng.integers(0, 2, n)).astype(int) % num_classes
    x_test = rng.normal(size=(1000, features)).astype(np.float32)
    return x, y, x_test


@pytest.mark.parametrize("num_classes", [2, 3, 6])
def test_stumps_equal_sklearn_to_rounding(num_classes):
    """Depth-1 trees split large nodes (no ties): every score and importance agrees to float64 rounding."""
    x, y, x_test = _data(num_classes)
    ref = GradientBoostingClassifier(max_depth=1, n_estimators=20, random_state=0).fit(x, y)
    ours = fit_gradient_boosting(x, y, np.random.default_rng(0), n_estimators=20, max_depth=1)
    np.testing.assert_allclose(ours.feature_importances, ref.feature_importances_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        ours.decision_function(x_test), ref.decision_function(x_test).reshape(len(x_test), -1), rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(ours.predict(x_test), ref.predict(x_test))


@pytest.mark.parametrize("num_classes", [2, 4])
def test_first_stage_trees_equal_sklearn(num_classes):
    """Default depth 3: the first stage's trees (splits, thresholds, leaf values) are scikit-learn's.

    Pure nodes are the exception: scikit-learn's impurity of a pure node is rounding noise, sometimes
    just above machine epsilon, and then it splits the node to no effect (both children get the same
    value, the gain is ~1e-16); we may not. Their subtrees are skipped.
    """
    x, y, _ = _data(num_classes, seed=1)
    ref = GradientBoostingClassifier(n_estimators=1, random_state=0).fit(x, y)
    ours = fit_gradient_boosting(x, y, np.random.default_rng(0), n_estimators=1)
    for k, tree in enumerate(ref.estimators_[0]):
        t = tree.tree_

        def walk(node, heap):
            if t.impurity[node] < 1e-12:
                return
            if t.children_left[node] == -1:
                assert ours.feature[0, k, heap] == -1
                assert ours.value[0, k, heap] == pytest.approx(t.value[node, 0, 0], abs=1e-12)
                return
            assert ours.feature[0, k, heap] == t.feature[node]
            assert ours.threshold[0, k, heap] == pytest.approx(t.threshold[node], abs=1e-12)
            walk(t.children_left[node], 2 * heap + 1)
            walk(t.children_right[node], 2 * heap + 2)

        walk(0, 0)


def test_defaults_agree_with_sklearn_up_to_split_ties():
    """100 depth-3 stages: small nodes meet exact ties between features, which both break at random."""
    x, y, x_test = _data(5, n=2000, seed=2)
    ref = GradientBoostingClassifier(random_state=0).fit(x, y)
    ours = fit_gradient_boosting(x, y, np.random.default_rng(0))
    assert np.abs(ours.feature_importances - ref.feature_importances_).max() < 0.01
    assert np.mean(ours.predict(x_test) == ref.predict(x_test)) > 0.98
    assert np.mean(ours.predict(x) == y) == pytest.approx(np.mean(ref.predict(x) == y), abs=0.01)


def test_ties_between_identical_features_are_shared():
    """Two copies of the informative feature: scikit-learn credits each about half; so do we."""
    rng = np.random.default_rng(3)
    f = rng.normal(size=2000).astype(np.float32)
    y = np.digitize(f, [-0.5, 0.5])
    x = np.stack([f, f, rng.normal(size=2000).astype(np.float32)], axis=1)
    imp = fit_gradient_boosting(x, y, np.random.default_rng(0), n_estimators=30).feature_importances
    assert 0.3 < imp[0] < 0.7 and 0.3 < imp[1] < 0.7 and imp[2] < 0.05


def test_seeded_runs_are_identical():
    x, y, x_test = _data(3, n=600)
    a = fit_gradient_boosting(x, y, np.random.default_rng(5), n_estimators=10)
    b = fit_gradient_boosting(x, y, np.random.default_rng(5), n_estimators=10)
    np.testing.assert_array_equal(a.feature_importances, b.feature_importances)
    np.testing.assert_array_equal(a.decision_function(x_test), b.decision_function(x_test))


def test_constant_features_give_zero_importance_and_the_prior_class():
    x = np.ones((300, 3), dtype=np.float32)
    y = np.r_[np.zeros(200, int), np.ones(60, int), np.full(40, 2)]
    ref = GradientBoostingClassifier(n_estimators=5).fit(x, y)
    ours = fit_gradient_boosting(x, y, np.random.default_rng(0), n_estimators=5)
    np.testing.assert_array_equal(ours.feature_importances, ref.feature_importances_)
    np.testing.assert_array_equal(ours.predict(x), ref.predict(x))


def test_labels_keep_their_values():
    x, y, x_test = _data(3, n=400)
    labels = np.array([10, 20, 35])[y]
    m = fit_gradient_boosting(x, labels, np.random.default_rng(0), n_estimators=5)
    assert set(np.unique(m.predict(x_test))) <= {10, 20, 35}


@pytest.mark.parametrize(
    "x, y, message",
    [
        (np.zeros((10, 2)), np.zeros(10, int), "at least two classes"),
        (np.full((4, 2), np.nan), np.array([0, 1, 0, 1]), "NaN"),
        (np.zeros((4, 2)), np.zeros(5, int), "x (n, D) and y (n,)"),
    ],
)
def test_bad_input_is_refused(x, y, message):
    with pytest.raises(BenchmarkError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fit_gradient_boosting(x, y, np.random.default_rng(0))


def test_stored_training_scores_equal_decision_function():
    x, y, _ = _data(4, n=800)
    m = fit_gradient_boosting(x, y, np.random.default_rng(0), n_estimators=15)
    np.testing.assert_array_equal(m.train_raw, m.decision_function(x))
    np.testing.assert_array_equal(m.predict(), m.predict(x))
