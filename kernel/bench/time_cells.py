"""Times cells in real kernels through jupyter_client (execute_request → reply and idle).

stdin: {"cwd": dir,
        "starts": {"repeats": n, "kernels": {"id": {"name": kernel spec name, "first": code}}},
        "kernels": {"id": {"name": kernel spec name, "setup": [code...]}},
        "probes": {"label": {"kernel": id, "code": code}},
        "timed": [{"label": label, "kernel": id, "code": code ("{run}" = the run's number), "repeats": n}]}
stdout: {"starts": {"id": {"start": [ms...], "first": [ms...]}},
         "probes": {"label": printed text},
         "times": {"label": [milliseconds per run, ...]},
         "lines": {"label": [stdout lines each run printed, ...]}}

"starts" (optional) is measured first: each round starts every kernel afresh, in turn, and times
the launch until the first kernel_info reply, then the "first" cell sent right after that reply
(until its execute_reply); the kernel is then shut down.

Then every long-lived kernel is started and set up. Each timed cell runs once as a warm-up, and
the timed runs alternate: round r runs every cell that has more than r repeats, in the order
given, so kernels take turns and a machine getting busier does not favour one of them.
A failing cell aborts with its error.
"""
import json
import os
import sys
import time
from queue import Empty

from jupyter_client.manager import KernelManager, start_new_kernel


def run(kc, code):
    """Runs one cell; returns what it printed (stdout) and its result's text."""
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=600)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=600)
    text = []
    while True:
        msg = kc.get_iopub_msg(timeout=600)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream" and msg["content"].get("name") == "stdout":
            text.append(msg["content"]["text"])
        elif kind == "execute_result":
            text.append(msg["content"]["data"].get("text/plain", ""))
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            break
    if reply["content"]["status"] != "ok":
        raise SystemExit(f"cell failed: {code}\n{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    return "".join(text)


def time_start(name, cwd, first):
    """Launches a kernel; returns ms until its first kernel_info reply and ms of the first cell after it."""
    km = KernelManager(kernel_name=name)
    start = time.perf_counter()
    km.start_kernel(cwd=cwd)
    kc = km.client()
    kc.start_channels()
    try:
        # Not kc.wait_for_ready(): it also drains IOPub for 0.2 s, which is no part of the start.
        # A request sent before the kernel binds waits in zeromq's queue; it is sent again now and
        # then in case a kernel drops what arrives while it starts.
        deadline = start + 120
        started = None
        while started is None:
            if time.perf_counter() > deadline:
                raise SystemExit(f"kernel {name} did not answer kernel_info within 120 s")
            kc.kernel_info()
            resend = time.perf_counter() + 1
            while started is None and time.perf_counter() < resend:
                try:
                    msg = kc.get_shell_msg(timeout=0.05)
                except Empty:
                    continue
                if msg["msg_type"] == "kernel_info_reply":
                    started = (time.perf_counter() - start) * 1000
        # Timed to the execute_reply: IOPub may still be subscribing this early, so its idle status
        # could be lost to zeromq's slow-joiner race.
        cell = time.perf_counter()
        msg_id = kc.execute(first.replace("{run}", "0"))
        reply = kc.get_shell_msg(timeout=600)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=600)
        took = (time.perf_counter() - cell) * 1000
        if reply["content"]["status"] != "ok":
            raise SystemExit(f"first cell failed in {name}: {first}\n{reply['content'].get('evalue')}")
        return started, took
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    spec = json.load(sys.stdin)
    # The answer gets stdout to itself: kernels inherit this process's stdout, and what they print
    # (at shutdown, say) would otherwise land inside the JSON.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    starts = {}
    if "starts" in spec:
        for kid in spec["starts"]["kernels"]:
            starts[kid] = {"start": [], "first": []}
        for _ in range(spec["starts"]["repeats"]):
            for kid, kernel in spec["starts"]["kernels"].items():
                started, first = time_start(kernel["name"], spec["cwd"], kernel["first"])
                starts[kid]["start"].append(started)
                starts[kid]["first"].append(first)
    kernels = {}
    try:
        for kid, kernel in spec["kernels"].items():
            kernels[kid] = start_new_kernel(kernel_name=kernel["name"], cwd=spec["cwd"], startup_timeout=120)
            for code in kernel.get("setup", []):
                run(kernels[kid][1], code)
        probes = {label: run(kernels[p["kernel"]][1], p["code"]).strip() for label, p in spec.get("probes", {}).items()}
        timed = spec["timed"]
        # "{run}" in a cell's code becomes the run's number, so that a kernel cannot answer a
        # re-run from a cache of the previous one: every run is new code.
        code = lambda cell, r: cell["code"].replace("{run}", str(r))
        for cell in timed:
            run(kernels[cell["kernel"]][1], code(cell, 0))  # warm-up
        times = {cell["label"]: [] for cell in timed}
        lines = {cell["label"]: [] for cell in timed}
        for r in range(max(cell["repeats"] for cell in timed)):
            for cell in timed:
                if r < cell["repeats"]:
                    start = time.perf_counter()
                    printed = run(kernels[cell["kernel"]][1], code(cell, r + 1))
                    times[cell["label"]].append((time.perf_counter() - start) * 1000)
                    lines[cell["label"]].append(len(printed.splitlines()))
        json.dump({"starts": starts, "probes": probes, "times": times, "lines": lines}, answer)
        answer.flush()
    finally:
        for km, kc in kernels.values():
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
