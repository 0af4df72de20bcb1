"""Drives a real Jupyter kernel with jupyter_client for the kernel tests.

Reads a JSON script from stdin: {"kernel": name, "cwd": dir, "steps": [...]}; kernel specs are
found through JUPYTER_PATH.
Each step is {"code": str, "interrupt_after": seconds?, "timeout": seconds?}; steps run in order and
each waits for its execute_reply and the matching idle status. Prints one JSON list of results:
{"reply": content, "outputs": [{"msg_type", "content"}], "idle": bool}.
"""
import json
import os
import sys
import time

from jupyter_client.manager import start_new_kernel


def collect(kc, msg_id, timeout):
    outputs, idle = [], False
    deadline = time.monotonic() + timeout
    while not idle:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            msg = kc.get_iopub_msg(timeout=remaining)
        except Exception:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status":
            idle = msg["content"]["execution_state"] == "idle"
        elif kind != "execute_input":
            outputs.append({"msg_type": kind, "content": msg["content"]})
    return outputs, idle


def main():
    script = json.load(sys.stdin)
    km, kc = start_new_kernel(
        kernel_name=script["kernel"], cwd=script.get("cwd", os.getcwd()), startup_timeout=60
    )
    results = []
    try:
        for step in script["steps"]:
            timeout = step.get("timeout", 60)
            msg_id = kc.execute(step["code"], stop_on_error=step.get("stop_on_error", True))
            if "interrupt_after" in step:
                time.sleep(step["interrupt_after"])
                km.interrupt_kernel()
            reply = kc.get_shell_msg(timeout=timeout)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = kc.get_shell_msg(timeout=timeout)
            outputs, idle = collect(kc, msg_id, timeout)
            results.append({"reply": reply["content"], "outputs": outputs, "idle": idle})
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
