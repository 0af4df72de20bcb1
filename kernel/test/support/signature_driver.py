"""Sends the kernel messages it must refuse, then a genuine one, over jupyter_client's own sockets.

The forged messages: an execute_request signed with the wrong key, a correctly signed one whose
content was changed afterwards, an unsigned one, a kernel_info_request with the wrong key, and a
shutdown_request with the wrong key on the control channel. Each channel handles one message at a
time, so once a genuine request sent after them is answered, the forged ones have been handled
too. Prints JSON: the forged msg_ids, the parents of every message received per channel, the
genuine execute_reply and its result, whether the kernel is still alive, and the kernel's stderr.
"""
import json
import os
import sys
import tempfile
import time

from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session


def execute_content(code):
    return {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }


def drain(channel, parent=None, until=None, timeout=30):
    """Messages of a channel until `until(msg)` holds for one answering `parent`, or, without a parent, until none come for a while."""
    received = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = channel.get_msg(timeout=max(0.1, deadline - time.monotonic()) if parent else 0.5)
        except Exception:
            if parent is None:
                break
            continue
        received.append(msg)
        if parent and msg["parent_header"].get("msg_id") == parent and until(msg):
            break
    return received


def is_idle(msg):
    return msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"


def main():
    stderr = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    km, kc = start_new_kernel(kernel_name="tandem", startup_timeout=60, stderr=stderr)
    try:
        good = kc.session
        # Sessions of their own, so that their msg_ids never collide with the genuine client's.
        wrong = Session(key=b"not-the-connection-key", username=good.username)
        unsigned = Session(key=b"", username=good.username)
        for channel in (kc.shell_channel, kc.iopub_channel, kc.control_channel):
            drain(channel)  # what start-up left behind
        shell, control = kc.shell_channel.socket, kc.control_channel.socket
        forged = []

        msg = wrong.msg("execute_request", content=execute_content("globalThis.__forged = 'wrong key'"))
        wrong.send(shell, msg)
        forged.append(msg["header"]["msg_id"])

        msg = good.msg("execute_request", content=execute_content("'harmless'"))
        frames = good.serialize(msg)
        frames[-1] = json.dumps(execute_content("globalThis.__forged = 'tampered content'")).encode()
        shell.send_multipart(frames)
        forged.append(msg["header"]["msg_id"])

        msg = unsigned.msg("execute_request", content=execute_content("globalThis.__forged = 'unsigned'"))
        unsigned.send(shell, msg)
        forged.append(msg["header"]["msg_id"])

        msg = wrong.msg("kernel_info_request", content={})
        wrong.send(shell, msg)
        forged.append(msg["header"]["msg_id"])

        msg = wrong.msg("shutdown_request", content={"restart": False})
        wrong.send(control, msg)
        forged.append(msg["header"]["msg_id"])

        # Genuine requests after the forged ones, on both channels.
        info = good.msg("kernel_info_request", content={})
        good.send(control, info)
        control_msgs = drain(kc.control_channel, info["header"]["msg_id"], lambda m: True)
        msg_id = kc.execute("globalThis.__forged ?? 'nothing forged ran'")
        shell_msgs = drain(kc.shell_channel, msg_id, lambda m: True)
        iopub_msgs = drain(kc.iopub_channel, msg_id, is_idle)
        # Anything still on its way would have come before the answers above; look once more anyway.
        shell_msgs += drain(kc.shell_channel)
        control_msgs += drain(kc.control_channel)
        reply = next((m for m in shell_msgs if m["parent_header"].get("msg_id") == msg_id), None)
        result = next(
            (m for m in iopub_msgs if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "execute_result"),
            None,
        )
        alive = km.is_alive()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=not km.is_alive())
    stderr.flush()
    stderr.seek(0)
    parents = lambda msgs: [m["parent_header"].get("msg_id") for m in msgs]
    json.dump(
        {
            "forged": forged,
            "shell": parents(shell_msgs),
            "iopub": parents(iopub_msgs),
            "control": parents(control_msgs),
            "controlReplies": [m["msg_type"] for m in control_msgs],
            "reply": reply and reply["content"],
            "result": result and result["content"]["data"].get("text/plain"),
            "alive": alive,
            "stderr": stderr.read(),
        },
        sys.stdout,
    )
    os.unlink(stderr.name)


if __name__ == "__main__":
    main()
