"""Times cells in real kernels through jupyter_client (execute_request → reply and idle).

stdin: {"cwd": dir,
        "kernels": {"id": {"name": kernel spec name, "setup": [code...]}},
        "probes": {"label": {"kernel": id, "code": code}},
        "timed": [{"label": label, "kernel": id, "code": code, "repeats": n}]}
stdout: {"probes": {"label": printed text}, "times": {"label": [milliseconds per run, ...]}}

Every kernel is started and set up first. Each timed cell then runs once as a warm-up, and the
timed runs alternate: round r runs every cell that has more than r repeats, in the order given,
so kernels take turns and a machine getting busier does not favour one of them.
A failing cell aborts with its error.
"""
import json
import sys
import time

from jupyter_client.manager import start_new_kernel


def run(kc, code):
    """Runs one cell; returns what it printed and its result's text."""
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


def main():
    spec = json.load(sys.stdin)
    kernels = {}
    try:
        for kid, kernel in spec["kernels"].items():
            kernels[kid] = start_new_kernel(kernel_name=kernel["name"], cwd=spec["cwd"], startup_timeout=120)
            for code in kernel.get("setup", []):
                run(kernels[kid][1], code)
        probes = {label: run(kernels[p["kernel"]][1], p["code"]).strip() for label, p in spec.get("probes", {}).items()}
        timed = spec["timed"]
        for cell in timed:
            run(kernels[cell["kernel"]][1], cell["code"])  # warm-up
        times = {cell["label"]: [] for cell in timed}
        for r in range(max(cell["repeats"] for cell in timed)):
            for cell in timed:
                if r < cell["repeats"]:
                    start = time.perf_counter()
                    run(kernels[cell["kernel"]][1], cell["code"])
                    times[cell["label"]].append((time.perf_counter() - start) * 1000)
        json.dump({"probes": probes, "times": times}, sys.stdout)
    finally:
        for km, kc in kernels.values():
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
