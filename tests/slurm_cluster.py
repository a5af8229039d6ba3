"""A real single-node Slurm cluster for the tests (munge + MariaDB + slurmdbd + slurmctld + slurmd).

``slurm_cluster`` is a session fixture: it starts the cluster with ``scripts/slurm/start_cluster.sh``
in a temporary folder on free TCP ports, points ``SLURM_CONF`` at it, yields a :class:`Cluster`
and stops every daemon by PID afterwards. Import it into a test module
(``from slurm_cluster import slurm_cluster``).

Without the Debian packages (``slurm-wlm munge slurmdbd mariadb-server``) or submitit the tests
that need the cluster are skipped with the install command as the reason, except under CI
(``CI=true``), where a missing cluster is a failure: CI installs them in ``.ci/run``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts" / "slurm"
DAEMONS = (
    "munged",
    "mariadbd",
    "mariadb-install-db",
    "slurmdbd",
    "slurmctld",
    "slurmd",
    "sbatch",
    "sacct",
    "scancel",
    "scontrol",
)
INSTALL = (
    "apt-get install -y slurm-wlm munge slurmdbd && apt-get install -y --no-install-recommends mariadb-server; "
    "pip install submitit"
)


def missing_requirements() -> list[str]:
    """Executables or Python packages the cluster tests need but this machine lacks."""
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if importlib.util.find_spec("submitit") is None:
        missing.append("submitit (Python)")
    if os.geteuid() != 0:
        missing.append("root (the daemons run as root with private sockets)")
    return missing


def require_cluster() -> None:
    """Skip (or fail in CI) when the cluster cannot be started here."""
    missing = missing_requirements()
    if not missing:
        return
    msg = f"Slurm test cluster unavailable: missing {', '.join(missing)}; install with: {INSTALL}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg + " (CI must run the Slurm tests: .ci/run installs these)")
    pytest.skip(msg)


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports that are free right now (all sockets held open until chosen)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(n):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
        return ports


@dataclass
class Cluster:
    """A running test cluster: its folder, ``slurm.conf`` and the seconds start-up took."""

    root: Path
    slurm_conf: Path
    startup_s: float

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.slurm_conf)}

    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> str:
        """Run a Slurm client command against this cluster; returns stdout."""
        out = subprocess.run(list(cmd), env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def job_state(self, job_id: str) -> str:
        """State from squeue while queued, else from sacct ('' if unknown yet)."""
        s = self.run("squeue", "-h", "-o", "%T", "-j", job_id, check=False).strip()
        if s:
            return s.split()[0]
        s = self.run("sacct", "-n", "-X", "-P", "-o", "State", "-j", job_id, check=False).strip()
        return s.split()[0] if s else ""

    def job_pids(self, job_id: str) -> list[int]:
        """PIDs of the job's Python processes (``scontrol listpids``), excluding the step daemons."""
        # listpids wants the unique job id, not the array form A_i
        raw = self.run("squeue", "-h", "-o", "%A", "-j", job_id, check=False).strip() or job_id
        out = self.run("scontrol", "listpids", raw.split()[0], check=False)
        pids = []
        for line in out.splitlines()[1:]:
            parts = line.split()
            if parts and parts[0].isdigit():
                pid = int(parts[0])
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                if "submitit.core._submit" in cmd and "srun" not in cmd.split()[0]:
                    pids.append(pid)
        return pids

    def kill_job_process(self, job_id: str) -> int:
        """SIGKILL the job's Python process from outside Slurm (like the OOM killer would)."""
        pids = self.job_pids(job_id)
        if not pids:
            raise RuntimeError(f"no Python process found for job {job_id}")
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return len(pids)


def start_cluster(root: Path) -> Cluster:
    """Start the daemons in ``root`` on free ports; raises with the log tail if start-up fails."""
    ctld, slurmd, dbd, db = free_ports(4)
    env = {
        **os.environ,
        "CTLD_PORT": str(ctld),
        "SLURMD_PORT": str(slurmd),
        "DBD_PORT": str(dbd),
        "DB_PORT": str(db),
        "NODE": "localhost",
        # a cancelled job is SIGKILLed 2 s after its SIGTERM (which submitit's wrapper ignores)
        "KILL_WAIT": "2",
    }
    t0 = time.perf_counter()
    out = subprocess.run(
        [str(SCRIPTS / "start_cluster.sh"), str(root)], env=env, capture_output=True, text=True, timeout=120
    )
    startup = time.perf_counter() - t0
    if out.returncode != 0:
        stop_cluster(root)
        logs = "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-1500:] for p in sorted((root / "log").glob("*"))
        )
        raise RuntimeError(f"start_cluster.sh failed: {out.stderr.strip()}\n{logs}")
    return Cluster(root=root, slurm_conf=root / "slurm.conf", startup_s=startup)


def stop_cluster(root: Path) -> None:
    subprocess.run([str(SCRIPTS / "stop_cluster.sh"), str(root)], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running single-node Slurm cluster; ``SLURM_CONF`` points at it for the whole session.

    Jobs inherit the submitter's environment (sbatch ``--export=ALL``) and working directory, so
    the job processes import this repository's ``benchmark`` package and ``tests/`` helpers.
    """
    require_cluster()
    root = tmp_path_factory.mktemp("slurm")
    cluster = start_cluster(root)
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "PYTHONPATH")}
    os.environ["SLURM_CONF"] = str(cluster.slurm_conf)
    # the job process must import test helpers (tests/) and this checkout's package
    paths = [str(REPO), str(REPO / "tests")] + ([saved["PYTHONPATH"]] if saved["PYTHONPATH"] else [])
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        yield cluster
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        stop_cluster(root)


# ------------------------------------------------------------------------------------------------
# A toy job module for the executor's mechanics (job_module="slurm_cluster"): it has the same
# contract as benchmark.sweep.job (run_one resumes from a checkpoint, writes its metrics file
# atomically last; is_finished looks for that file) but "trains" by sleeping, so a test can
# cancel or kill it mid-run at a known step. The real sweep goes through benchmark.sweep.job.


def _toy_dir(spec: dict, results_dir: str) -> Path:
    return Path(results_dir) / "runs" / spec["run_id"]


def run_one(spec: dict, results_dir: str) -> dict:
    """Step ``spec['steps']`` times (``spec['sleep']`` s each), checkpointing every step; value =
    sum of (seed * 7 + step) % 11 over steps, so a resumed run must give the uninterrupted value.
    Raises once if the run folder holds a ``fail_once`` marker (a transient failure)."""
    from benchmark.io import atomic_write_json, atomic_write_text
    import json

    run = _toy_dir(spec, results_dir)
    run.mkdir(parents=True, exist_ok=True)
    ck = run / "checkpoint.json"
    state = json.loads(ck.read_text()) if ck.exists() else {"step": 0, "value": 0}
    resumed_from = state["step"]
    print(f"run {spec['run_id']}: starting at step {resumed_from}", flush=True)
    while state["step"] < spec["steps"]:
        time.sleep(spec.get("sleep", 0.0))
        state["value"] += (spec["seed"] * 7 + state["step"]) % 11
        state["step"] += 1
        atomic_write_json(ck, state)
    marker = run / "fail_once"
    if marker.exists():
        marker.unlink()
        raise ValueError(f"toy failure in run {spec['run_id']}")
    result = {"run_id": spec["run_id"], "value": state["value"], "resumed_from": resumed_from}
    atomic_write_json(run / "metrics.json", result)
    atomic_write_text(run / "done", "")
    return result


def is_finished(spec: dict, results_dir: str) -> bool:
    return (_toy_dir(spec, results_dir) / "metrics.json").exists()


def toy_value(seed: int, steps: int) -> int:
    """What run_one computes for an uninterrupted run (the known answer)."""
    return sum((seed * 7 + s) % 11 for s in range(steps))
