"""Several "nodes" on one PostgreSQL and Redis: does throughput rise with workers, does each workspace's limit
hold across nodes, and is anything lost when a node dies?

A node is a group of processes on loopback, started as the Procfile starts it: one web (gunicorn, the Procfile's
line), its worker processes (thread pool, the webhooks, deliveries and default queues) and a beat with the
Procfile's LeaderScheduler (so only one of the nodes' beats sends). Every workspace has its own Intercom
simulator process (its own rate limit per 10 s, 200 ms per call) and its own Jira project whose issue is linked
to all of the workspace's conversations. A run posts one transition per workspace at once, through the nodes'
web processes in turn, and waits until every note is out; the simulators' ledgers say what reached Intercom.

Runs: 2 nodes with 1, 2, 4 and 8 worker processes in all, then 3 nodes, then 3 nodes of which one is killed
(SIGKILL to its whole process group) once 30 % of the notes are out.

    python -m bench scale_out                     # in make bench: 4 workspaces x 400, 166 per 10 s (one round)
    SCALE_OUT_FULL=1 python -m bench scale_out    # 20 x 1,000, 1,666 per 10 s: for machines with cores to spare
    python -m bench.scale_out --small             # the make bench size; prints the figures only

The floor is the slowest workspace's conversations / limit x 10 s; the target is 1.2 x the floor with the
most workers. On a machine with few cores the nodes share them, so the figures say what this machine can do:
at full size two cores cannot reach the floor (20,000 notes in 6 s), and one round takes a quarter of an
hour, so `make bench` runs the small size, where the workspaces' limits are the ceiling. There more workers
cannot go faster, and the target is that they cost nothing: the most workers' throughput at least 0.9 of
the fewest's (a lease or a window lost between nodes costs far more than that).
"""

import argparse
import copy
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from bench import SIMULATOR_VALIDATE_EVERY
from bench.child import run_child
from bench.rounds import quick
from sandbox.processes import REPO, celery_worker_command, free_port, intercom_simulator

BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "connector_bench") + "_scale_out"
SAMPLE = "mattermost-plugin-jira/webhook-issue-updated-started-working.json"
LATENCY = 0.2
WINDOW = 10.0
WORKER_THREADS = 32  # the Procfile's WORKER_CONCURRENCY default
KILL_AFTER = 0.3  # share of the notes out before a node is killed

FULL = {
    "workspaces": 20,
    "conversations": 1000,
    "limit": 1666,
    "runs": [
        {"nodes": 2, "workers": 1},
        {"nodes": 2, "workers": 2},
        {"nodes": 2, "workers": 4},
        {"nodes": 2, "workers": 8},
        {"nodes": 3, "workers": 8},
        {"nodes": 3, "workers": 6, "kill": True},
    ],
}
# More conversations than one window allows, so the limit and a kill between windows are both exercised. The
# limit is Intercom's lowest plan: until a response names the limit, the limiter assumes that one.
SMALL = {
    "workspaces": 4,
    "conversations": 400,
    "limit": 166,
    "runs": [
        {"nodes": 2, "workers": 1},
        {"nodes": 2, "workers": 2},
        {"nodes": 3, "workers": 3},
        {"nodes": 3, "workers": 3, "kill": True},
    ],
}
# Environment of every node: sweeps often enough that a dead node's work is picked up within a run.
NODE_ENV = {
    "DELIVERY_SWEEP_SECONDS": "2",
    "DELIVERY_STALE_SENDING_SECONDS": "15",  # longer than VENDOR_TIMEOUT_SECONDS, as settings require
    "WEBHOOK_SWEEP_AFTER_SECONDS": "10",
    "BEAT_LEASE_SECONDS": "3",
    "WEB_CONCURRENCY": "1",
    "WEB_THREADS": "8",
    "LOG_LEVEL": "WARNING",
}


def run() -> dict:
    full = os.environ.get("SCALE_OUT_FULL") == "1" and not quick()
    return in_child(FULL if full else SMALL)


run.max_rounds = 1  # already a series of six or four runs, each against its own floor (see bench/rounds.py)


def in_child(options: dict) -> dict:
    """The orchestration runs in a child with Django set up against a fresh migrated database."""
    env = {**NODE_ENV, "REDIS_KEY_PREFIX": f"scale-out-{uuid.uuid4().hex[:8]}"}
    return run_child("bench.scale_out", "--child", options, database=BENCH_DATABASE, redis_url=BENCH_REDIS,
                     timeout=3600, env=env)


# --- the child ------------------------------------------------------------------------------------------------


class Node:
    """One node: web, `workers` worker processes and a beat; killing it kills them all at once."""

    def __init__(self, number: int, workers: int, var: Path):
        self.number, self.workers, self.var = number, workers, var
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []

    def _start(self, name: str, args: list[str], env: dict) -> None:
        log = (self.var / f"node{self.number}-{name}.log").open("a")
        # A group per process (gunicorn's master with its worker): the node dies whole, children included.
        self.procs.append(
            subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0)
        )

    def start(self) -> "Node":
        env = {**os.environ, "WEB_BIND": f"127.0.0.1:{self.port}"}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self._start("web", [gunicorn, "config.wsgi", "--config", "deploy/gunicorn.conf.py"], env)
        for n in range(self.workers):
            worker = celery_worker_command(
                name=f"node{self.number}w{n}", concurrency=WORKER_THREADS, queues="webhooks,deliveries,default",
                loglevel="WARNING",
            )
            self._start(f"worker{n}", worker, env)
        beat = [sys.executable, "-m", "celery", "-A", "config", "beat", "--scheduler", "config.beat:LeaderScheduler",
                "--loglevel", "WARNING"]
        self._start("beat", beat, env)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        for proc in self.procs:
            os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=30)

    def stop(self) -> None:
        if all(p.poll() is not None for p in self.procs):
            return
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(nodes: list[Node], timeout: float = 180) -> None:
    from config.celery import app  # Django is set up in the child

    deadline = time.monotonic() + timeout
    expected = sum(n.workers for n in nodes)
    pending = list(nodes)
    while time.monotonic() < deadline:
        for node in list(pending):
            try:
                with urllib.request.urlopen(f"{node.url}/healthz", timeout=2):  # noqa: S310 - loopback
                    pending.remove(node)
            except OSError:
                pass
        if not pending and len(app.control.ping(timeout=1.0)) >= expected:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the nodes did not start within {timeout}s (see their logs)")


def _world(sims: list, conversations: int):
    from django.conf import settings  # Django is set up in the child

    from connector.models import IntercomWorkspace, JiraSite, ProjectConnection  # Django is set up in the child
    from linking.models import ConversationLink  # Django is set up in the child

    sample = json.loads((Path(settings.CONTRACTS_DIR) / "jira-webhooks" / SAMPLE).read_text())
    site = JiraSite.objects.create(
        name="Bench Jira",
        base_url="https://bench.atlassian.net",
        api_token="t",  # noqa: S106 - the simulator accepts anything here
        health="ok",
        app_account_id="connector-app-user",
    )
    world = []
    for i, (url, control) in enumerate(sims):
        state = control.get("state")
        workspace = IntercomWorkspace.objects.create(
            name=f"Bench {i}",
            workspace_id=state["app"]["id_code"],
            api_base_url=url,
            access_token=state["token"],
            client_secret="s",  # noqa: S106 - no Intercom webhooks in this benchmark
            app_admin_id=str(state["app_admin"]["id"]),
            health="ok",
        )
        payload = copy.deepcopy(sample)
        project = {"id": str(20000 + i), "key": f"B{i}"}
        payload["issue"].update(id=str(30000 + i), key=f"B{i}-1")
        payload["issue"]["fields"]["project"].update(project)
        ProjectConnection.objects.create(site=site, workspace=workspace, project_id=project["id"],
                                         project_key=project["key"])
        ids = control.post("conversations/bulk", {"count": conversations})["ids"]
        ConversationLink.objects.bulk_create(
            (
                ConversationLink(site=site, issue_id=payload["issue"]["id"], issue_key=payload["issue"]["key"],
                                 workspace=workspace, conversation_id=cid, source="api")
                for cid in ids
            ),
            batch_size=2000,
        )
        world.append((payload, set(ids)))
    return site, world


def _post(url: str, site, payload: dict) -> int:
    from connector.signatures import sign  # Django is set up in the child

    body = json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}/webhooks/jira/{site.public_id}",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature": sign(body, site.webhook_secret),
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return response.status


def _deliveries_since(started: float):
    from datetime import UTC, datetime

    from deliveries.models import Delivery  # Django is set up in the child

    return Delivery.objects.filter(created_at__gte=datetime.fromtimestamp(started, tz=UTC))


def _sent_since(started: float) -> int:
    return _deliveries_since(started).filter(status__in=["sent", "failed"]).count()


def _outcomes(started: float) -> dict:
    """The run's deliveries by status, and the errors of those that did not go out."""
    from django.db.models import Count

    rows = _deliveries_since(started)
    statuses = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    errors = Counter(rows.exclude(status="sent").values_list("last_error", flat=True))
    return {"deliveries_by_status": statuses, "errors": dict(errors.most_common(5))}


def one_run(spec: dict, *, site, world, sims, limit: int, var: Path, number: int) -> dict:
    nodes_count, workers, kill = spec["nodes"], spec["workers"], spec.get("kill", False)
    per_node = [workers // nodes_count + (1 if i < workers % nodes_count else 0) for i in range(nodes_count)]
    nodes = [Node(number * 10 + i, w, var) for i, w in enumerate(per_node)]
    total = sum(len(ids) for _, ids in world)
    floor = max(len(ids) for _, ids in world) / limit * WINDOW
    figures: dict = {"nodes": nodes_count, "worker_processes": workers, "workers_per_node": per_node}
    try:
        for node in nodes:
            node.start()
        _wait_ready(nodes)
        time.sleep(WINDOW - time.time() % WINDOW + 0.05)  # start with a fresh rate-limit window
        started = time.time()
        with ThreadPoolExecutor(len(world)) as pool:
            statuses = list(pool.map(
                lambda item: _post(nodes[item[0] % len(nodes)].url, site, _new_change(item[1][0], number)),
                enumerate(world),
            ))
        assert statuses == [202] * len(world), statuses
        deadline = time.monotonic() + floor * 10 + 300
        if kill:
            victim = next(n for n in nodes if n.workers)  # a node with workers, so pumps die with it
            while _sent_since(started) < KILL_AFTER * total and time.monotonic() < deadline:
                time.sleep(0.2)
            victim.kill()
            figures.update(killed_node_workers=victim.workers, killed_after_seconds=round(time.time() - started, 1),
                           notes_out_when_killed=_sent_since(started))
        while _sent_since(started) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1)  # let a late duplicate, if any, reach the ledger
        figures.update(_outcomes(started))
    finally:
        for node in nodes:
            node.stop()
    figures.update(_ledgers(sims, world, started, limit))
    seconds = figures.pop("last_note_at") - started if figures.get("last_note_at") else None
    figures.update(
        seconds=round(seconds, 1) if seconds else None,
        floor_seconds=round(floor, 1),
        times_floor=round(seconds / floor, 2) if seconds else None,
        notes_per_second=round(figures["notes"] / seconds, 1) if seconds else 0,
    )
    return figures


def _new_change(payload: dict, run_number: int) -> dict:
    changed = copy.deepcopy(payload)
    changed["changelog"]["id"] = f"{run_number}{uuid.uuid4().int % 10**9}"  # a new transition, not a redelivery
    changed["timestamp"] = int(time.time() * 1000)
    return changed


def _ledgers(sims, world, started: float, limit: int) -> dict:
    notes = lost = duplicates = 0
    max_calls = 0
    last = None
    for (_, control), (_, ids) in zip(sims, world, strict=True):
        ledger = control.get("ledger")
        ours = [e for e in ledger["entries"] if e["kind"] == "note" and e["at"] >= started]
        counts = Counter(e["conversation_id"] for e in ours)
        notes += len(ours)
        lost += len(ids - set(counts))
        duplicates += sum(c - 1 for c in counts.values() if c > 1)
        first_window = started // WINDOW * WINDOW
        windows = [n for w, n in ledger["calls_per_window"].items() if float(w) >= first_window]
        max_calls = max([max_calls, *windows])
        if ours:
            last = max(last or 0, max(e["at"] for e in ours))
    return {"notes": notes, "lost": lost, "duplicates": duplicates, "max_calls_per_window": max_calls,
            "last_note_at": last}


def scale_out(workspaces: int, conversations: int, limit: int, runs: list[dict]) -> dict:
    var = Path(os.environ["VAR_DIR"])
    floor = conversations / limit * WINDOW
    figures: dict = {
        "workspaces": workspaces,
        "conversations_per_workspace": conversations,
        "limit_per_10s": limit,
        "floor_seconds": round(floor, 1),
        "cpus": os.cpu_count(),
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "worker_threads_per_process": WORKER_THREADS,
        "runs": {},
    }
    with ExitStack() as stack:
        sims = [
            stack.enter_context(
                intercom_simulator(rate_limit=limit, latency=LATENCY, log=var / f"intercom-{i}.log", app_id=f"bench{i}",
                                   validate_every=SIMULATOR_VALIDATE_EVERY)
            )[:2]
            for i in range(workspaces)
        ]
        site, world = _world(sims, conversations)
        for number, spec in enumerate(runs, start=1):
            name = f"{spec['nodes']}_nodes_{spec['workers']}_workers" + ("_one_killed" if spec.get("kill") else "")
            figures["runs"][name] = one_run(spec, site=site, world=world, sims=sims, limit=limit, var=var,
                                            number=number)
            print(f"{name}: {json.dumps(figures['runs'][name])}", file=sys.stderr, flush=True)
    return _verdicts(figures, limit, floor)


def _verdicts(figures: dict, limit: int, floor: float) -> dict:
    runs = figures["runs"]
    series = {str(r["worker_processes"]): r["notes_per_second"] for r in runs.values()
              if r["nodes"] == 2 and "killed_after_seconds" not in r}
    figures["notes_per_second_by_workers_on_2_nodes"] = series
    steady = [r for r in runs.values() if "killed_after_seconds" not in r]
    killed = [r for r in runs.values() if "killed_after_seconds" in r]
    figures["targets"] = {
        "max_calls_per_window": {"value": max(r["max_calls_per_window"] for r in runs.values()), "target": limit,
                                 "op": "<="},
    }
    if steady:
        best = max(steady, key=lambda r: (r["nodes"], r["worker_processes"]))
        figures["targets"]["seconds_with_most_workers"] = {
            "value": best["seconds"], "target": round(1.2 * floor, 1), "op": "<="
        }
    if len(series) > 1:
        counts = sorted(series, key=int)
        limit_bound = floor >= 2 * WINDOW  # the limits, not the cores, set the pace: more workers cannot help
        figures["targets"]["throughput_most_vs_fewest_workers"] = {
            "value": round(series[counts[-1]] / series[counts[0]], 2) if series[counts[0]] else None,
            "target": 0.9 if limit_bound else 1.0,
            "op": ">=",
        }
    if killed:
        figures["targets"]["seconds_with_a_node_killed"] = {
            "value": killed[0]["seconds"], "target": round(1.2 * floor + 30, 1), "op": "<="
        }
    failed = [f"{name}: {r['lost']} lost and {r['duplicates']} duplicated notes"
              for name, r in runs.items() if r["lost"] or r["duplicates"]]
    if failed:
        figures["failed"] = failed
    return figures


def _child(options: dict) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import redis

    redis.Redis.from_url(BENCH_REDIS).flushdb()
    print(json.dumps(scale_out(**options)))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a few minutes: 4 workspaces x 400, 166 per 10 s")
    parser.add_argument("--options", help="JSON: workspaces, conversations, limit, runs (overrides --small)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return
    options = json.loads(args.options) if args.options else (SMALL if args.small else FULL)
    print(json.dumps(in_child(options), indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
