#!/usr/bin/env bash
# Start a private single-node Slurm cluster (munge + MariaDB + slurmdbd + slurmctld + slurmd) in DIR.
#
#   scripts/slurm/start_cluster.sh DIR        then   export SLURM_CONF=DIR/slurm.conf
#   scripts/slurm/stop_cluster.sh DIR         stops it (by recorded PID only)
#
# Runs as root with no systemd; nothing under /etc is read or changed: every daemon gets its own
# socket, state, log and PID files under DIR. Accounting (slurmdbd + MariaDB) is always on because
# submitit learns job states only from `sacct`: without it a killed job is never seen as finished.
# KILL_WAIT sets Slurm's KillWait (default 30 s; the tests use 2).
# Ports come from CTLD_PORT, SLURMD_PORT, DBD_PORT, DB_PORT (defaults 16817-16819, 13306; the tests
# pick free ones). NODE sets the node name (default localhost, so the hostname need not resolve).
# Reusing DIR keeps the database (warm start ~2 s instead of ~8 s). Prints one line on success:
#   slurm cluster up in DIR (SLURM_CONF=DIR/slurm.conf)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
for exe in munged mariadbd mariadb-install-db slurmdbd slurmctld slurmd sinfo; do
  command -v "$exe" >/dev/null || { echo "error: $exe not found; install it with: apt-get install -y slurm-wlm munge slurmdbd && apt-get install -y --no-install-recommends mariadb-server" >&2; exit 2; }
done
T=$(mkdir -p "$1" && cd "$1" && pwd)
H=${NODE:-localhost}
CTLD_PORT=${CTLD_PORT:-16817}; SLURMD_PORT=${SLURMD_PORT:-16818}
DBD_PORT=${DBD_PORT:-16819}; DB_PORT=${DB_PORT:-13306}
CPUS=${CPUS:-$(nproc)}
# Seconds between the SIGTERM and the SIGKILL of a cancelled job (Slurm's default 30); submitit's
# job wrapper ignores SIGTERM (it waits for the time-out signal), so a cancel takes this long.
KILL_WAIT=${KILL_WAIT:-30}
# RealMemory must not exceed what slurmd detects, or the node is drained: take half of MemTotal.
MEM_MB=${MEM_MB:-$(awk '/MemTotal/ {print int($2 / 2048)}' /proc/meminfo)}
mkdir -p "$T"/{state,spool,log,run,munge,db,pids}

wait_port() {  # host port: poll until the TCP port accepts (client commands block if a daemon is down)
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done
  echo "error: $3 did not open $1:$2 within 30 s; see $T/log/" >&2; return 1
}
launch() {  # name cmd...: run a daemon in the foreground of a background shell, record its PID
  local name=$1; shift
  "$@" > "$T/log/$name.out" 2>&1 &
  echo $! > "$T/pids/$name"
}

# 1. munge: private key and socket (the socket dir must be 711, munged needs --force as root)
chmod 711 "$T/munge"
if [ ! -f "$T/munge/munge.key" ]; then
  head -c 1024 /dev/urandom > "$T/munge/munge.key"; chmod 400 "$T/munge/munge.key"
fi
rm -f "$T/munge/munge.sock"
launch munged munged -F --force --socket="$T/munge/munge.sock" --key-file="$T/munge/munge.key" \
  --log-file="$T/log/munged.log" --pid-file="$T/run/munged.pid" --seed-file="$T/munge/munged.seed"
for _ in $(seq 1 100); do [ -S "$T/munge/munge.sock" ] && break; sleep 0.05; done
[ -S "$T/munge/munge.sock" ] || { echo "error: munged did not start; see $T/log/munged.out" >&2; exit 1; }

# 2. MariaDB for accounting (database created once per DIR; init.sql is idempotent, run on every start)
if [ ! -d "$T/db/mysql" ]; then
  mariadb-install-db --no-defaults --user=root --datadir="$T/db" \
    --auth-root-authentication-method=normal --skip-test-db > "$T/log/install_db.log" 2>&1
fi
cat > "$T/init.sql" <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF
launch mariadbd mariadbd --no-defaults --user=root --datadir="$T/db" --socket="$T/run/mysqld.sock" \
  --pid-file="$T/run/mysqld.pid" --port="$DB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
  --log-error="$T/log/mariadb.err" --init-file="$T/init.sql" --innodb-buffer-pool-size=128M \
  --innodb-log-file-size=16M --innodb-lock-wait-timeout=900 --skip-log-bin
wait_port 127.0.0.1 "$DB_PORT" mariadbd

# 3. configs: slurmdbd.conf must sit next to slurm.conf and be mode 600
cat > "$T/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
DbdHost=localhost
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$T/run/slurmdbd.pid
LogFile=$T/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
EOF
chmod 600 "$T/slurmdbd.conf"
# AccountingStoragePass names the munge socket used for the slurmdbd connection (without it
# slurmctld uses the system socket and dies: "we have no TRES from it").
cat > "$T/slurm.conf" <<EOF
ClusterName=testcluster
SlurmctldHost=$H
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$T/munge/munge.sock
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MinJobAge=300
KillWait=$KILL_WAIT
NodeName=$H CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf

# 4. daemons: slurmdbd (no -f flag: finds slurmdbd.conf next to $SLURM_CONF), controller, node
launch slurmdbd slurmdbd -D
wait_port 127.0.0.1 "$DBD_PORT" slurmdbd
launch slurmctld slurmctld -D -c
wait_port 127.0.0.1 "$CTLD_PORT" slurmctld
launch slurmd slurmd -D -N "$H"
s=
for _ in $(seq 1 300); do
  s=$(timeout 5 sinfo -h -o '%T' 2>/dev/null || true); [ "$s" = idle ] && break; sleep 0.1
done
[ "$s" = idle ] || { echo "error: node state is '$s', not idle; see $T/log/" >&2; exit 1; }
echo "slurm cluster up in $T (SLURM_CONF=$T/slurm.conf)"
