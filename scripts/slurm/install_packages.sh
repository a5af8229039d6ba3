#!/usr/bin/env bash
# Install the Debian packages of the test cluster (slurm-wlm, munge, slurmdbd, MariaDB) if any is
# missing: idempotent, quiet, `apt-get update` only when the package lists are missing or stale.
# Without apt-get or root/sudo it prints why and exits 0: the Slurm tests then skip with that reason
# (under CI=true they fail instead).
set -uo pipefail
need_slurm() {
  for exe in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sbatch sacct; do
    command -v "$exe" >/dev/null 2>&1 || return 0
  done
  return 1
}
need_slurm || exit 0
command -v apt-get >/dev/null 2>&1 || { echo "note: no apt-get here; Slurm cluster tests will skip" >&2; exit 0; }
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo
  else echo "note: not root and no passwordless sudo; Slurm cluster tests will skip" >&2; exit 0; fi
fi
echo "installing the Debian packages of the Slurm test cluster (slurm-wlm munge slurmdbd mariadb-server) with" \
  "apt-get; skip this with 'make test SLURM=skip' (the cluster tests are then skipped)" >&2
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  $SUDO apt-get install -y -qq slurm-wlm munge slurmdbd >/dev/null &&
    $SUDO apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
}
if ! apt-cache show slurm-wlm >/dev/null 2>&1 || ! apt_install; then
  $SUDO apt-get update -qq >/dev/null
  apt_install || { echo "note: could not install the Slurm packages; Slurm cluster tests will skip" >&2; exit 0; }
fi
