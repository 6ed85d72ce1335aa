#!/usr/bin/env python3
# subreap.py FILE CMD...: runs CMD as a child subreaper and records how every
# process that ends up reaped here ended, one "PID exit N" or "PID signal N"
# line each in FILE, until none is left.  'criu restore -d' under it leaves
# the restored tree's root to us, so a test can tell a task killed on
# purpose (signal 9) from one that crashed (11, 7) or failed (exit 1).
import ctypes, os, sys

PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
    sys.exit("subreap: prctl: %s" % os.strerror(ctypes.get_errno()))
out, cmd = sys.argv[1], sys.argv[2:]
first = os.spawnvp(os.P_NOWAIT, cmd[0], cmd)
rc = None
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    how = "signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exit %d" % os.WEXITSTATUS(status)
    with open(out, "a") as f:
        f.write("%d %s\n" % (pid, how))
    if pid == first:
        rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1
sys.exit(rc or 0)
