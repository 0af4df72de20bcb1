"""Drives a real Jupyter kernel with jupyter_client for the kernel tests.

Reads a JSON script from stdin: {"kernel": name, "cwd": dir, "steps": [...]}; kernel specs are
found through JUPYTER_PATH.
Each step is {"code": str, "interrupt_after": seconds?, "timeout": seconds?, "queued": bool?}, or
{"msg_type": str, "content": {...}} to send any other shell message (comm_open, comm_info_request);
steps run in order and each waits for its reply (only *_request messages get one) and the matching
idle status, except that a "queued" step's next step is sent at once. Prints one JSON list of
results: {"reply": content or null, "outputs": [{"msg_type", "content"}], "idle": bool}.
"""
import json
import os
import sys
import time

from jupyter_client.manager import start_new_kernel


class Inbox:
    """Messages of one channel grouped by the request they answer, so queued cells can be awaited in turn."""

    def __init__(self, receive):
        self.receive, self.by_parent = receive, {}

    def next_for(self, msg_id, deadline):
        while not self.by_parent.get(msg_id):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = self.receive(timeout=remaining)
            except Exception:
                return None
            self.by_parent.setdefault(msg["parent_header"].get("msg_id"), []).append(msg)
        return self.by_parent[msg_id].pop(0)


def collect(shell, iopub, msg_id, timeout, replied=True):
    deadline = time.monotonic() + timeout
    reply = shell.next_for(msg_id, deadline) if replied else None
    if replied and reply is None:
        raise TimeoutError(f"no reply within {timeout} s")
    outputs, idle = [], False
    while not idle:
        msg = iopub.next_for(msg_id, deadline)
        if msg is None:
            break
        kind = msg["msg_type"]
        if kind == "status":
            idle = msg["content"]["execution_state"] == "idle"
        elif kind != "execute_input":
            outputs.append({"msg_type": kind, "content": msg["content"]})
    return {"reply": reply and reply["content"], "outputs": outputs, "idle": idle}


def send(kc, step):
    """Sends a step; answers its message id and whether a shell reply will come."""
    if "msg_type" in step:
        msg = kc.session.msg(step["msg_type"], step["content"])
        kc.shell_channel.send(msg)
        return msg["header"]["msg_id"], step["msg_type"].endswith("_request")
    return kc.execute(step["code"], stop_on_error=step.get("stop_on_error", True)), True


def main():
    script = json.load(sys.stdin)
    km, kc = start_new_kernel(
        kernel_name=script["kernel"], cwd=script.get("cwd", os.getcwd()), startup_timeout=60
    )
    shell, iopub = Inbox(kc.get_shell_msg), Inbox(kc.get_iopub_msg)
    results, pending = [], []
    try:
        for step in script["steps"]:
            msg_id, replied = send(kc, step)
            pending.append((msg_id, step.get("timeout", 60), replied))
            if "interrupt_after" in step:
                time.sleep(step["interrupt_after"])
                km.interrupt_kernel()
            # A "queued" step is sent without waiting, like Run All sends every cell at once.
            if not step.get("queued"):
                results += [collect(shell, iopub, *waiting) for waiting in pending]
                pending = []
        results += [collect(shell, iopub, *waiting) for waiting in pending]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
