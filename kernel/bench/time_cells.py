"""Times cells in a real kernel through jupyter_client (execute_request → reply and idle).

stdin: {"kernel": name, "cwd": dir, "setup": [code...], "timed": {"label": [code, repeats]}}
stdout: {"label": [milliseconds per run, ...]}; a failing cell aborts with its error.
"""
import json
import sys
import time

from jupyter_client.manager import start_new_kernel


def run(kc, code):
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=600)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=600)
    while True:
        msg = kc.get_iopub_msg(timeout=600)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    if reply["content"]["status"] != "ok":
        raise SystemExit(f"cell failed: {code}\n{reply['content'].get('ename')}: {reply['content'].get('evalue')}")


def main():
    spec = json.load(sys.stdin)
    km, kc = start_new_kernel(kernel_name=spec["kernel"], cwd=spec["cwd"], startup_timeout=120)
    try:
        for code in spec["setup"]:
            run(kc, code)
        out = {}
        for label, (code, repeats) in spec["timed"].items():
            run(kc, code)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                run(kc, code)
                times.append((time.perf_counter() - start) * 1000)
            out[label] = times
        json.dump(out, sys.stdout)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
