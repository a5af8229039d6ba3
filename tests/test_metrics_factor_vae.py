import numpy as np

from benchmark.metrics import factor_vae
from metrics_helpers import ground_truth, medium_grid, small_grid

SIZES = dict(batch_size=16, num_train=300, num_eval=200, num_variance_estimate=500)


def test_vote_batches_fix_one_factor_to_the_first_rows_value():
    g = small_grid()
    _, (idx, y), _ = factor_vae.sample(
        g, np.random.default_rng(0), batch_size=8, num_train=40, num_eval=5, num_variance_estimate=10
    )
    lat = g.latent_classes(idx.ravel()).reshape(40, 8, -1)
    for p in range(40):
        assert len(np.unique(lat[p, :, y[p]])) == 1


def test_ground_truth_scores_one():
    g = small_grid()
    s = factor_vae.factor_vae_score(ground_truth(g), g, np.random.default_rng(0), **SIZES)
    assert s == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 3}


def test_random_codes_near_chance():
    g = medium_grid()
    codes = np.random.default_rng(2).normal(size=(g.num_images, 6))
    s = factor_vae.factor_vae_score(codes, g, np.random.default_rng(0), **SIZES)
    assert s["eval_accuracy"] < 2.0 / g.num_latents


def test_pruning_on_std_threshold_and_num_active_dims_is_a_count():
    g = small_grid()
    gt = ground_truth(g)
    # scale each factor code so its global std is far below / above 0.05; the tiny one must be pruned
    codes = np.column_stack([gt[:, 0] * 1e-3, gt[:, 1], gt[:, 2], np.zeros(g.num_images)])
    s = factor_vae.factor_vae_score(codes, g, np.random.default_rng(0), **SIZES)
    assert s["num_active_dims"] == 2
    # factor 'a' can only vote for an active dim, so its votes are lost to the majority elsewhere
    assert 0.5 < s["eval_accuracy"] < 0.9


def test_no_active_dimension_scores_zero():
    g = small_grid()
    s = factor_vae.factor_vae_score(np.full((g.num_images, 3), 2.0), g, np.random.default_rng(0), **SIZES)
    assert s == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


def test_votes_use_unbiased_variances_and_break_ties_to_the_first_dim():
    g = small_grid()
    # two identical copies of factor 'a': equal variance ratios, the vote goes to the first copy
    gt = ground_truth(g)
    codes = np.column_stack([gt[:, 0], gt[:, 0], gt[:, 1], gt[:, 2]])
    var_idx = np.arange(g.num_images)
    global_var = np.var(codes[var_idx], axis=0, ddof=1)
    idx = np.array([np.arange(0, 40, 2)])  # one vote batch: factor a takes 2 values, b and c vary more
    votes = factor_vae._votes(
        factor_vae.as_codes(codes, g.num_images), idx, np.array([0]), global_var, np.ones(4, bool), 3
    )
    local = np.var(codes[idx[0]], axis=0, ddof=1) / global_var
    assert votes[0].tolist() == np.eye(4, dtype=int)[int(np.argmin(local))].tolist()
    assert int(np.argmin(local)) == 0  # dims 0 and 1 are copies: their ratios tie and the first wins
