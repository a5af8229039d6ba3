"""evaluate()'s score keys -> results.csv columns, and the text of numbers in ids, labels and tables."""
from __future__ import annotations

# evaluate()'s flat keys -> results.csv columns
SCORE_KEYS = {
    "beta_vae.eval_accuracy": "beta_vae_reference",
    "beta_vae_paper.eval_accuracy": "beta_vae_paper",
    "beta_vae_paper.classifier_converged": "beta_vae_paper_converged",  # False: Adagrad stopped short
    "factor_vae.eval_accuracy": "factor_vae",
    "mig.discrete_mig": "mig",
    "dci.disentanglement": "dci_disentanglement",
    "dci.completeness": "dci_completeness",
    "dci.informativeness_test": "dci_informativeness",
    "dci_hist.disentanglement": "dci_hist_disentanglement",
    "dci_hist.completeness": "dci_hist_completeness",
    "dci_hist.informativeness_test": "dci_hist_informativeness",
    "sap.SAP_score": "sap",
    "modularity_explicitness.modularity_score": "modularity",
    "modularity_explicitness.explicitness_score_test": "explicitness",
    "unsupervised.gaussian_total_correlation": "gaussian_total_correlation",
    "unsupervised.gaussian_wasserstein_correlation_norm": "wasserstein_correlation",
    "unsupervised.mutual_info_score": "mutual_info_score",
    "irs.IRS": "irs",
    # downstream tasks: test accuracy with 100 and 10,000 training points (sample efficiency)
    "downstream_gbt.100:mean_test_accuracy": "downstream_gbt_100",
    "downstream_gbt.10000:mean_test_accuracy": "downstream_gbt_10000",
    "downstream_logreg.100:mean_test_accuracy": "downstream_logreg_100",
    "downstream_logreg.10000:mean_test_accuracy": "downstream_logreg_10000",
}
GENERATIVE_KEYS = {
    "reconstruction_nll_mean": "recon_bce",  # decode the mean: defined for the AE too
    "reconstruction_nll": "recon_bce_sampled",  # the ELBO's one-sample term
    "reconstruction_mse": "recon_mse",
    "elbo": "elbo",
    "kl": "kl",
    "active_units": "active_units",
    "active_units_variance": "active_units_variance",
    "iwae_log_likelihood": "iwae",
}


def fmt_value(v: float) -> str:
    """Compact number for ids and labels: 4.0 -> '4', 0.5 -> '0.5', 1e-05 -> '1e-05'."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def hyperparameter_text(params: dict) -> str:
    """Canonical text of a hyperparameter dict (``beta=4``), '' for none: a grouping key."""
    return ";".join(f"{k}={fmt_value(v)}" for k, v in sorted(params.items()))


SMOKE_TEST_NOTE = (
    "The {preset} preset trains each model for only {steps:,} steps: its reconstruction, KL and "
    "active-unit numbers show the rate-distortion trade-off, but its disentanglement scores are a "
    "SMOKE TEST, not evidence for or against the paper's claim. The paper preset (300,000 steps, "
    "--preset paper, on a GPU) is where that claim is tested."
)


def smoke_test_note(preset: str, steps: int) -> str:
    """The warning that a short preset's disentanglement scores are a smoke test (a result row says
    ``smoke_test = True`` for those)."""
    return SMOKE_TEST_NOTE.format(preset=preset, steps=int(steps))
