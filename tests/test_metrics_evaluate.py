import json
import math

import numpy as np
import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.metrics.evaluate import METRICS, SAMPLE_SIZES, SUITE, evaluate, metric_rng
from metrics_helpers import LinearEncoder, LinearVAE, dataset, ground_truth, medium_grid

ALL = list(METRICS)


def test_ground_truth_suite_is_json_ready_and_records_everything():
    ds = dataset()
    r = evaluate(ground_truth(ds.grid), ds, metrics=ALL, seed=1, preset="tiny")
    json.dumps(r, allow_nan=False)
    s = r["scores"]
    assert s["beta_vae.eval_accuracy"] == 1.0 and s["beta_vae_paper.eval_accuracy"] == 1.0
    assert s["factor_vae.eval_accuracy"] == 1.0
    assert s["mig.discrete_mig"] > 0.9 and s["dci.disentanglement"] > 0.99 and s["dci_hist.disentanglement"] > 0.99
    assert r["metrics"]["dci"]["variant"] == "dci_gbt" and r["metrics"]["mig"]["variant"] == "mig_histogram"
    assert r["metrics"]["beta_vae"]["params"] == {**SAMPLE_SIZES["tiny"]["beta_vae"], "classifier": "sklearn_logreg"}
    assert r["seed"] == 1 and r["sklearn_version"] and r["dataset"]["dataset"] == "bars"
    assert r["torch_threads"] == torch.get_num_threads()  # codes depend on it at rounding level
    assert r["representation"]["kind"] == "codes"
    assert s["dci_sklearn.disentanglement"] > 0.99 and s["beta_vae_paper.classifier_converged"] is True
    assert not any("Adagrad" in w for w in r["warnings"])


def test_unconverged_adagrad_fit_is_a_warning():
    ds = dataset()
    r = evaluate(ground_truth(ds.grid) * 1e-2, ds, metrics=["beta_vae_paper"], seed=1, preset="tiny")
    assert r["scores"]["beta_vae_paper.classifier_converged"] is False
    assert any("beta_vae_paper: the Adagrad classifier did not converge" in w for w in r["warnings"])


def test_each_metric_has_its_own_stream():
    ds = dataset()
    codes = ground_truth(ds.grid) + np.random.default_rng(0).normal(size=(120, 3))
    alone = evaluate(codes, ds, metrics=["mig"], seed=5, preset="tiny")["scores"]
    together = evaluate(codes, ds, metrics=["unsupervised", "mig"], seed=5, preset="tiny")["scores"]
    assert alone["mig.discrete_mig"] == together["mig.discrete_mig"]
    other = evaluate(codes, ds, metrics=["mig"], seed=6, preset="tiny")["scores"]
    assert other["mig.discrete_mig"] != alone["mig.discrete_mig"]
    assert metric_rng(5, "mig").integers(10**9) != metric_rng(5, "dci").integers(10**9)


@pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)  # explicitness on constant codes, as the reference
def test_constant_dimensions_score_finite_except_where_the_reference_is_undefined():
    g = medium_grid()
    ds = dataset(g)
    gt = ground_truth(g)
    codes = np.column_stack([gt, np.zeros(len(gt)), np.full(len(gt), 3.0)])
    r = evaluate(codes, ds, metrics=ALL, seed=0, preset="tiny")
    # the Gaussian total correlation of a degenerate covariance is the reference's NaN, stored as null
    # with a warning; every other score is finite (the paper variant's Adagrad notice depends on the sample)
    undefined = {"unsupervised.gaussian_total_correlation"}
    assert [w for w in r["warnings"] if "Adagrad" not in w and "gaussian_total_correlation" not in w] == []
    assert any("gaussian_total_correlation" in w for w in r["warnings"])
    assert all(r["scores"][k] is None for k in undefined)
    assert all(v is not None and math.isfinite(v) for k, v in r["scores"].items() if k not in undefined)
    # every dimension collapsed: no crash; the normalised Wasserstein score is 0/0 as well
    r = evaluate(np.zeros((len(gt), 3)), ds, metrics=ALL, seed=0, preset="tiny")
    undefined |= {"unsupervised.gaussian_wasserstein_correlation_norm"}
    assert all(r["scores"][k] is None for k in undefined)
    assert all(v is not None and math.isfinite(v) for k, v in r["scores"].items() if k not in undefined)
    assert r["scores"]["modularity_explicitness.modularity_score"] == 0.0
    assert r["scores"]["factor_vae.eval_accuracy"] == 0.0 and r["scores"]["dci.disentanglement"] == pytest.approx(0.0)


def test_bad_codes_and_names_are_refused():
    ds = dataset()
    codes = ground_truth(ds.grid)
    codes[3, 0] = np.nan
    with pytest.raises(BenchmarkError, match="NaN"):
        evaluate(codes, ds, metrics=["mig"], preset="tiny")
    with pytest.raises(BenchmarkError, match="unknown metric"):
        evaluate(ground_truth(ds.grid), ds, metrics=["mig2"], preset="tiny")
    with pytest.raises(BenchmarkError, match="unknown preset"):
        evaluate(ground_truth(ds.grid), ds, metrics=["mig"], preset="huge")
    with pytest.raises(BenchmarkError, match="dci has no parameter n_trees"):
        evaluate(ground_truth(ds.grid), ds, metrics=["dci"], preset="tiny", params={"dci": {"n_trees": 5}})
    with pytest.raises(BenchmarkError, match="decode"):
        evaluate(ground_truth(ds.grid), ds, metrics=["generative"], preset="tiny")


def test_encoder_path_encodes_once_and_matches_codes_path():
    g = medium_grid()
    ds = dataset(g)
    enc = LinearEncoder(16 * 16, dim=4)
    r = evaluate(enc, ds, metrics=["mig", "sap"], seed=0, preset="tiny", device="cpu")
    rep = r["representation"]
    assert rep["kind"] == "encoder" and rep["selection"] == "subset"
    assert rep["num_encoded"] == rep["unique_indices_needed"] < rep["samples_drawn"]
    from benchmark.metrics.encode import encode_dataset

    full = encode_dataset(enc, ds, device="cpu", progress=False).mean
    r2 = evaluate(full, ds, metrics=["mig", "sap"], seed=0, preset="tiny")
    assert r2["scores"] == pytest.approx(r["scores"], abs=1e-6)


def test_generative_metric_with_a_model_and_size_overrides():
    ds = dataset()
    model = LinearVAE(16 * 16, dim=3)
    r = evaluate(model, ds, metrics=["generative", "mig"], seed=0, preset="tiny", device="cpu", num_train=200)
    assert r["metrics"]["mig"]["params"]["num_train"] == 200
    assert r["metrics"]["generative"]["scores"]["num_points"] == SAMPLE_SIZES["tiny"]["generative"]["num_points"]
    assert math.isfinite(r["scores"]["generative.elbo"])


def test_suite_is_the_reference_set():
    assert SUITE == ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity_explicitness", "unsupervised")
    assert SAMPLE_SIZES["reference"]["beta_vae"] == dict(
        batch_size=64, num_train=10_000, num_eval=5_000, logreg_solver="lbfgs"
    )
    assert SAMPLE_SIZES["reference"]["factor_vae"]["prune_threshold"] == 0.05


def test_sampled_representation_adds_encoder_noise():
    ds = dataset()
    enc = LinearEncoder(16 * 16, dim=4)
    mean = evaluate(enc, ds, metrics=["unsupervised"], seed=0, preset="tiny", device="cpu")
    sampled = evaluate(enc, ds, metrics=["unsupervised"], seed=0, preset="tiny", device="cpu", representation="sampled")
    assert sampled["representation"]["representation"] == "sampled"
    assert sampled["scores"] != mean["scores"]
    with pytest.raises(BenchmarkError, match="log-variance"):
        evaluate(
            LinearEncoder(16 * 16, logvar=False),
            ds,
            metrics=["mig"],
            preset="tiny",
            device="cpu",
            representation="sampled",
        )
    with pytest.raises(BenchmarkError, match="needs log-variances"):
        evaluate(ground_truth(ds.grid), ds, metrics=["mig"], preset="tiny", representation="sampled")
