#!/usr/bin/env bash
# Install (if needed) and start (if not running) a real one-node SLURM
# cluster on this Debian machine, so test suites can submit real `sbatch`
# job arrays.  No systemd needed: munged, slurmctld and slurmd are started
# directly as daemons.
#
# Usage: scripts/slurm_local.sh [up|status|down]
#   up      (default) install + configure + start; exit 0 once the node is
#           usable (sinfo shows it idle/mixed/allocated).  Idempotent, and
#           fast (no restart) when the cluster is already up.
#   status  exit 0 if the cluster is up and usable, 1 if not; changes nothing.
#   down    stop slurmd, slurmctld and munged (only the ones we started,
#           found through their pid files).
#
# `up` and `down` must run as root; `status` works as any user.  Progress
# lines go to stderr; on failure the last line says why.
# SLURM_LOCAL_WAIT_SECS (default 30) bounds the wait for the node to be idle.
#
# Results of finished jobs (there is no slurmdbd: plain `sacct` only says
# "Slurm accounting storage is disabled" and exits 1):
#   * `scontrol show job -o <array_job_id>` prints one line per array task
#     (ArrayJobId=, ArrayTaskId=, JobState=COMPLETED|FAILED|CANCELLED|TIMEOUT,
#     ExitCode=<code>:<signal>) for MinJobAge=3600 s after the job ends, then
#     "Invalid job id specified" (exit 1).  squeue no longer lists them.
#   * JobCompType=jobcomp/filetxt appends one line per finished job/task to
#     /var/log/slurm/jobcomp.log (JobId= JobState= ... ArrayJobId=
#     ArrayTaskId= DerivedExitCode= ExitCode=), kept across restarts.
#   * `sacct -c -S 2000-01-01 -j <raw ids> -n -P -o JobID,State,ExitCode`
#     reads that file (raw job ids only, not 12_3; it prints harmless
#     "Unknown type ArrayJobId" errors on stderr).
#   Caveat: for CANCELLED/TIMEOUT jobs the jobcomp log says ExitCode=0:0
#   while scontrol says 0:15; JobState is right in both.
set -euo pipefail

ACTION="${1:-up}"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid
RUN_DIR=/run/slurm
CTLD_PID="$RUN_DIR/slurmctld.pid"
SLURMD_PID="$RUN_DIR/slurmd.pid"
LOG_DIR=/var/log/slurm
STATE_DIR=/var/spool/slurm/ctld
SPOOL_DIR=/var/spool/slurm/d
JOBCOMP_LOG="$LOG_DIR/jobcomp.log"
LOCK=/run/lock/ttwriter-slurm-local.lock
MARKER="# Managed by ttwriter scripts/slurm_local.sh"
WAIT_SECS="${SLURM_LOCAL_WAIT_SECS:-30}"

log() { echo "slurm_local: $*" >&2; }
die() { echo "slurm_local: ERROR: $*" >&2; exit 1; }

case "$ACTION" in
    up|status|down) ;;
    -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown action '$ACTION' (use up, status or down)" ;;
esac

# ---------------------------------------------------------------- helpers

# proc_alive PID NAME: PID is a live (not zombie) process called NAME.
proc_alive() {
    [[ "$(cat "/proc/$1/comm" 2>/dev/null || true)" == "$2" ]] || return 1
    [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)" != Z ]]
}

# pid_alive PIDFILE NAME: the pid file names a live process called NAME.
pid_alive() {
    local pid
    [[ -r "$1" ]] || return 1
    pid="$(tr -dc '0-9' <"$1" 2>/dev/null || true)"
    [[ -n "$pid" ]] && proc_alive "$pid" "$2"
}

have_binaries() {
    command -v munged >/dev/null 2>&1 && command -v slurmctld >/dev/null 2>&1 \
        && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 \
        && command -v sinfo >/dev/null 2>&1
}

# munged is alive and a credential round-trips.  (Checks the pid first: the
# munge client retries for seconds against a dead daemon's stale socket.)
munge_ok() {
    pid_alive "$MUNGE_PID" munged || return 1
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1
}

# The node's state as sinfo sees it ("idle", "mix", "alloc", "down*", ...).
node_state() {
    timeout 10 sinfo -h -N -n "$NODE" -o '%t' 2>/dev/null | head -n1 || true
}

node_usable() {
    case "$(node_state)" in
        idle|mix|alloc|comp|idle~|mix-|alloc-|comp-) return 0 ;;
        *) return 1 ;;
    esac
}

cluster_up() {
    have_binaries || return 1
    munge_ok || return 1
    pid_alive "$CTLD_PID" slurmctld || return 1
    pid_alive "$SLURMD_PID" slurmd || return 1
    [[ -f "$CONF" ]] && grep -qxF "SlurmctldHost=$NODE" "$CONF" || return 1
    node_usable
}

# stop_pid PIDFILE NAME: TERM the daemon, wait (max 10 s) until the process
# itself is gone (daemons delete their pid file before they finish exiting),
# then KILL.
stop_pid() {
    local pid
    pid_alive "$1" "$2" || { rm -f "$1"; return 0; }
    pid="$(tr -dc '0-9' <"$1")"
    log "stopping $2 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        proc_alive "$pid" "$2" || { rm -f "$1"; return 0; }
        sleep 0.2
    done
    log "$2 (pid $pid) ignored SIGTERM for 10s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
    rm -f "$1"
}

# What this machine's slurm.conf should say (cheap: no daemons touched).
NODE="$(hostname -s)"
CPUS="$(getconf _NPROCESSORS_ONLN)"   # not nproc: nproc obeys OMP_NUM_THREADS
MEM_MB="$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo)"
# Conservative RealMemory: 80% of RAM rounded down to a GiB, at least 512 MB.
REAL_MEM=$(( MEM_MB * 8 / 10 / 1024 * 1024 ))
(( REAL_MEM >= 512 )) || REAL_MEM=512
CLUSTER=ttwriterlocal

render_conf() {
    cat <<EOF
$MARKER (rewritten when host/cpus/memory change)
ClusterName=$CLUSTER
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$JOBCOMP_LOG
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}
NEW_CONF="$(render_conf)"

# ---------------------------------------------------------------- status

if [[ "$ACTION" == status ]]; then
    if cluster_up; then
        log "up (node $NODE: $(node_state))"
        exit 0
    fi
    log "not up"
    exit 1
fi

[[ "$(id -u)" -eq 0 ]] || die "must run as root (it installs packages and starts daemons)"

mkdir -p "$(dirname "$LOCK")"
exec 9>"$LOCK"
flock -w 120 9 || die "another slurm_local.sh is still running (lock $LOCK)"

if [[ "$ACTION" == down ]]; then
    stop_pid "$SLURMD_PID" slurmd
    stop_pid "$CTLD_PID" slurmctld
    stop_pid "$MUNGE_PID" munged
    log "down"
    exit 0
fi

# ---------------------------------------------------------------- up

# Fast path: everything already running and the config matches this host.
if [[ -f "$CONF" ]] && [[ "$(cat "$CONF")" == "$NEW_CONF" ]] && cluster_up; then
    log "already up (node $NODE: $(node_state))"
    exit 0
fi

# 1. packages ------------------------------------------------------------
if ! have_binaries; then
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found (needs Debian/Ubuntu)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show slurm-wlm >/dev/null 2>&1 || ! apt-cache show munge >/dev/null 2>&1; then
        log "apt-get update"
        apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (package registry not reachable?)"
    fi
    log "installing slurm-wlm munge (apt)"
    # slurm-wlm pulls in slurmctld, slurmd, slurm-client (sbatch, sinfo, ...)
    # and slurm-wlm-basic-plugins; munge is a dependency but named explicitly.
    if ! apt-get install -y -qq --no-install-recommends slurm-wlm munge >/tmp/slurm_local_apt.log 2>&1; then
        log "apt-get install failed, retrying after apt-get update"
        apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (package registry not reachable?)"
        apt-get install -y -qq --no-install-recommends slurm-wlm munge >/tmp/slurm_local_apt.log 2>&1 \
            || die "apt-get install slurm-wlm munge failed (see /tmp/slurm_local_apt.log)"
    fi
    have_binaries || die "slurm/munge binaries still missing after install"
fi

# 2. munge ---------------------------------------------------------------
id munge >/dev/null 2>&1 || die "user 'munge' missing (munge package broken?)"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s "$MUNGE_KEY" ]]; then
    log "creating munge key $MUNGE_KEY"
    dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
fi
chown munge:munge "$MUNGE_KEY"
chmod 0400 "$MUNGE_KEY"
if ! munge_ok; then
    stop_pid "$MUNGE_PID" munged
    rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
    log "starting munged"
    # 9>&-: daemons must not inherit (and so keep holding) our lock fd.
    runuser -u munge -- munged --force 9>&- \
        || die "munged failed to start (see /var/log/munge/munged.log)"
    for _ in $(seq 1 25); do munge_ok && break; sleep 0.2; done
    munge_ok || die "munge does not work after starting munged (see /var/log/munge/munged.log)"
fi

# 3. slurm.conf ----------------------------------------------------------
CLEAR_STATE=0
CONF_CHANGED=0
if [[ ! -f "$CONF" ]] || [[ "$(cat "$CONF")" != "$NEW_CONF" ]]; then
    if [[ -f "$CONF" ]]; then
        OLD_HOST="$(sed -n 's/^SlurmctldHost=//p' "$CONF" | head -n1)"
        if [[ "$OLD_HOST" != "$NODE" ]]; then
            log "host changed ('$OLD_HOST' -> '$NODE'): rewriting $CONF, clearing old state"
            CLEAR_STATE=1
        else
            log "config differs: rewriting $CONF"
        fi
        if ! head -n1 "$CONF" | grep -qF "$MARKER"; then
            cp -p "$CONF" "$CONF.bak.$(date +%s)"
        fi
    else
        log "writing $CONF"
    fi
    install -d -m 0755 "$CONF_DIR"
    printf '%s\n' "$NEW_CONF" >"$CONF.tmp.$$"
    chmod 0644 "$CONF.tmp.$$"
    mv -f "$CONF.tmp.$$" "$CONF"
    CONF_CHANGED=1
fi

install -d -m 0755 "$RUN_DIR" "$LOG_DIR" /var/spool/slurm
install -d -m 0700 "$STATE_DIR" "$SPOOL_DIR"
touch "$JOBCOMP_LOG"

# 4. daemons -------------------------------------------------------------
if (( CONF_CHANGED )); then
    # A running daemon still has the old config: restart both.
    stop_pid "$SLURMD_PID" slurmd
    stop_pid "$CTLD_PID" slurmctld
fi

# State left by another host or cluster name (recycled machine) would be
# recovered, or make slurmctld refuse to start: wipe it.  (`slurmctld -c`
# alone is not enough: it leaves the old job_state file in place until it
# next saves state, so a later restart recovers the old jobs.)
if [[ -f "$STATE_DIR/clustername" ]] && [[ "$(cat "$STATE_DIR/clustername")" != "$CLUSTER" ]]; then
    CLEAR_STATE=1
fi
if (( CLEAR_STATE )); then
    stop_pid "$SLURMD_PID" slurmd
    stop_pid "$CTLD_PID" slurmctld
    log "clearing old slurm state in $STATE_DIR and $SPOOL_DIR"
    find "$STATE_DIR" "$SPOOL_DIR" -mindepth 1 -delete
    # Job ids restart at 1: keep old completion records apart.
    [[ -s "$JOBCOMP_LOG" ]] && mv -f "$JOBCOMP_LOG" "$JOBCOMP_LOG.old"
    touch "$JOBCOMP_LOG"
fi

if ! pid_alive "$CTLD_PID" slurmctld; then
    log "starting slurmctld"
    slurmctld 9>&- || die "slurmctld failed to start (see $LOG_DIR/slurmctld.log)"
fi
for _ in $(seq 1 50); do timeout 5 scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
timeout 5 scontrol ping >/dev/null 2>&1 \
    || die "slurmctld not answering (see $LOG_DIR/slurmctld.log)"

if ! pid_alive "$SLURMD_PID" slurmd; then
    log "starting slurmd"
    slurmd 9>&- || die "slurmd failed to start (see $LOG_DIR/slurmd.log)"
fi

log "waiting (max ${WAIT_SECS}s) for node $NODE to be idle"
deadline=$(( SECONDS + WAIT_SECS ))
state=""
while (( SECONDS < deadline )); do
    state="$(node_state)"
    node_usable && break
    case "$state" in
        down*|drain*|drng*|fail*)
            # e.g. "unexpectedly rebooted" or left down by an earlier run.
            scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
if ! node_usable; then
    reason="$(timeout 5 sinfo -h -N -n "$NODE" -o '%E' 2>/dev/null || true)"
    die "node $NODE not idle after ${WAIT_SECS}s (state '${state:-unknown}', reason '${reason:-none}'; see $LOG_DIR/slurmd.log)"
fi
log "up (node $NODE: $(node_state), ${CPUS} cpus, ${REAL_MEM} MB)"
