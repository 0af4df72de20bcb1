"""Runs a job's command and takes its whole process group down when the worker agent dies.

The agent starts this script as the leader of a new process group and stops jobs by signalling
that group. A killed agent (SIGKILL, OOM) cannot signal anything, so Linux does it instead: with
PR_SET_PDEATHSIG this process gets SIGTERM when its parent dies, and passes it to the group,
then SIGKILL after a grace period. Without it, the job would run on, holding its GPU, while the
server hands a retry to another worker.

Usage: TANDEM_AGENT_PID=<agent pid> python supervise.py COMMAND [ARGS...]; exits as COMMAND does
(same code or signal).
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading

PR_SET_PDEATHSIG = 1
GRACE_SECONDS = 5.0


def stop_group(signum, _frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the group signal reaches us as well
    os.killpg(0, signal.SIGTERM)
    last_resort = threading.Timer(GRACE_SECONDS, lambda: os.killpg(0, signal.SIGKILL))
    last_resort.daemon = True  # a command that stops in time must not wait for it
    last_resort.start()


def main():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (AttributeError, OSError):
        pass  # not Linux: a job may outlive a killed agent
    signal.signal(signal.SIGTERM, stop_group)
    if os.getppid() != int(os.environ.get("TANDEM_AGENT_PID", os.getppid())):
        sys.exit("the worker agent exited before the job started")  # before prctl took effect
    try:
        child = subprocess.Popen(sys.argv[1:])
    except OSError as error:
        print(f"cannot start {sys.argv[1]}: {error.strerror}", file=sys.stderr)
        sys.exit(127)
    code = child.wait()
    if code < 0:  # killed by a signal: end the same way, so the agent reports it
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
