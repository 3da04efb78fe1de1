"""A 2-rank job in which rank 1 fails (argv[1]: raise, kill, hang) while rank 0 waits in an
all_reduce; TO is the collective timeout in seconds."""

import datetime
import os
import signal
import sys
import time

import torchlite as tl
import torchlite.distributed as dist

dist.init_process_group(timeout=datetime.timedelta(seconds=float(os.environ.get("TO", "5"))))
mode = sys.argv[1]
if dist.get_rank() == 1:
    if mode == "raise":
        raise ValueError("boom on purpose")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "hang":
        time.sleep(600)  # far past the test's bound: only the timeout can end the job
dist.all_reduce(tl.ones(2))
print("rank", dist.get_rank(), "done")
