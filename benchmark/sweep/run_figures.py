"""The arrays behind a trained run's figures (traversals, per-latent KL, reconstructions).

The runner stores them in the run folder; the report layer draws the images from them
(``benchmark.report.figures.plot_run``), so a figure can always be redrawn without the model.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.metrics.encode import encoder_output
from benchmark.results.layout import FIGURE_ARRAYS


def save_figure_arrays(
    model, dataset, folder: Path, device: str, seed: int, kl_per_dim=None, steps: int = 7, num_recon: int = 8
) -> Path:
    """Arrays for the per-run figures, saved to ``folder/figures/arrays.npz`` (atomically).

    * ``traversal`` (L, steps, C, 64, 64): rows = latents sorted by KL (largest first); row d decodes
      the seed image's code with latent d replaced by mean_d + v * sd_d for v in [-3, 3] (sd = 1,
      the prior's, for VAEs; the code's empirical sd for a deterministic AE).
    * ``kl_per_dim``, ``kl_sorted``, ``dims_sorted``, ``values``; ``inputs`` / ``reconstructions``
      (decoded means) of ``num_recon`` random images.
    """
    import numpy as np
    import torch

    from benchmark.io import atomic_save_npz

    rng = np.random.default_rng(seed)
    idx = dataset.grid.sample_index(max(256, num_recon), rng)
    was = getattr(model, "training", False)
    model.eval()
    try:
        with torch.inference_mode():
            x = dataset.observe(idx, device, rng)
            mu, logvar = encoder_output(model, x)
            mu = mu.float()
            if kl_per_dim is not None:
                kl = np.asarray(kl_per_dim, dtype=np.float64)
            elif logvar is not None:
                kl = (0.5 * (mu**2 + logvar.exp() - logvar - 1)).mean(0).cpu().numpy().astype(np.float64)
            else:
                kl = mu.var(0).cpu().numpy().astype(np.float64)  # AE: rank latents by their variance
            sd = torch.ones(mu.shape[1], device=mu.device) if logvar is not None else mu.std(0)
            order = np.argsort(-kl, kind="stable")
            values = np.linspace(-3, 3, steps)
            z0 = mu[0]
            rows = []
            for d in order:
                z = z0.repeat(steps, 1)
                z[:, d] = z0[d] + torch.as_tensor(values, dtype=z.dtype, device=z.device) * sd[d]
                rows.append(torch.sigmoid(model.decode(z)).float().cpu().numpy())
            recon = torch.sigmoid(model.decode(mu[:num_recon])).float().cpu().numpy()
    finally:
        if was:
            model.train()
    path = folder / FIGURE_ARRAYS
    atomic_save_npz(
        path,
        compressed=True,
        traversal=np.stack(rows).astype(np.float16),
        kl_per_dim=kl,
        kl_sorted=kl[order],
        dims_sorted=order,
        values=values,
        inputs=x[:num_recon].float().cpu().numpy().astype(np.float16),
        reconstructions=recon.astype(np.float16),
        rank_by=np.asarray("KL" if logvar is not None else "var"),
        seed_index=np.asarray(idx[0]),
    )
    return path
