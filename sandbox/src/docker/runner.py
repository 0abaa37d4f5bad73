# The in-container runner of a Docker worker: one long-lived process that runs each command it is sent, so a
# candidate costs no `docker exec`. Requests and replies are JSON lines on stdin/stdout; bytes travel as latin-1.
import json
import os
import selectors
import signal
import subprocess
import sys
import time

DRAIN_SECONDS = 2.0
reply = sys.stdout.buffer


def send(frame):
    reply.write(json.dumps(frame).encode("ascii") + b"\n")
    reply.flush()


def kill_everything_else(attempts=200):
    # SIGKILL every process of this user except this runner (the container's init is root). `kill(-1)` first, as
    # it outruns fork bombs, then by pid until none is left (killed processes linger until init reaps them).
    # True when none is left.
    me, uid = os.getpid(), os.getuid()
    for attempt in range(attempts):
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        left = []
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) != me:
                try:
                    if os.stat(f"/proc/{name}").st_uid == uid:
                        left.append(int(name))
                except OSError:
                    pass
        if not left:
            return True
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.005)
    return False


def run(request):
    started = time.monotonic()
    try:
        child = subprocess.Popen(
            request["argv"], cwd=request["cwd"], env=request["env"], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        )
    except OSError as error:
        send({"t": "e", "d": f"{request['argv'][0]}: {error}\n"})
        return {"t": "done", "code": 127, "timed_out": False}
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ, "o")
    selector.register(child.stderr, selectors.EVENT_READ, "e")
    deadline = started + request["timeout"]
    timed_out = False
    drain_until = None
    while selector.get_map():
        now = time.monotonic()
        if drain_until is None and child.poll() is not None:
            drain_until = now + DRAIN_SECONDS
        if drain_until is None and now >= deadline:
            timed_out = True
            kill_everything_else()
            child.wait()
            drain_until = time.monotonic() + DRAIN_SECONDS
            continue
        if drain_until is not None and now >= drain_until:
            break
        limit = drain_until if drain_until is not None else min(deadline, now + 0.05)
        for key, _ in selector.select(timeout=max(limit - now, 0)):
            data = os.read(key.fileobj.fileno(), 65536)
            if data:
                send({"t": key.data, "d": data.decode("latin-1")})
            else:
                selector.unregister(key.fileobj)
    code = child.wait()
    kill_everything_else()
    for stream in (child.stdout, child.stderr):
        stream.close()
    if timed_out:
        return {"t": "done", "code": 124, "timed_out": True}
    return {"t": "done", "code": code if code >= 0 else 128 - code, "timed_out": False}


def write(request):
    path = request["path"]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(request["data"].encode("latin-1"))
    return {"t": "done", "code": 0, "timed_out": False}


if sys.argv[1:] == ["--kill"]:
    # The host's backstop (`kill_user_processes`): the same kill, longer, as a one-off exec.
    sys.exit(0 if kill_everything_else(attempts=400) else 1)

send({"t": "ready"})
for line in sys.stdin.buffer:
    request = json.loads(line)
    try:
        send(run(request) if request["op"] == "exec" else write(request))
    except Exception as error:  # a broken request must not end the runner
        send({"t": "e", "d": f"runner: {error!r}\n"})
        send({"t": "done", "code": 125, "timed_out": False})
