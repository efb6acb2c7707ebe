"""Run a simulator as its own process: `python -m sandbox intercom|jira --port N [options]`.

The first stdout line is the base URL, so a benchmark can start it with subprocess and read where it is;
seed data and set faults through the `/_sim/...` control plane (see `sandbox.server.SimControl`).
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from sandbox.intercom import IntercomSimulator
from sandbox.jira import JiraSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    parser.add_argument("vendor", choices=["intercom", "jira"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API request")
    parser.add_argument("--no-validate", action="store_true", help="skip OpenAPI request validation")
    parser.add_argument("--validate-every", type=int, default=1,
                        help="validate the first request of each operation and every Nth after (benchmarks)")
    parser.add_argument("--rate-limit", type=int, default=1666, help="Intercom calls per 10-second window")
    parser.add_argument("--token", default="sandbox-token", help="Intercom access token accepted")
    parser.add_argument("--app-id", default="sandbox1", help="Intercom: the workspace's id (several simulators)")
    parser.add_argument("--conversations", type=int, default=0, help="Intercom conversations to seed")
    parser.add_argument("--deployment", choices=["cloud", "datacenter"], default="cloud")
    parser.add_argument("--jira-rate-limit", type=int, default=100, help="Jira calls per second per credential")
    parser.add_argument("--webhook-url", help="Jira: register an admin webhook to this URL")
    parser.add_argument("--webhook-secret", help="Jira: secret of that webhook")
    args = parser.parse_args(argv)

    options: dict[str, Any] = {"host": args.host, "port": args.port, "latency": args.latency,
                               "validate": not args.no_validate, "validate_every": args.validate_every}
    if args.vendor == "intercom":
        sim: Any = IntercomSimulator(rate_limit=args.rate_limit, token=args.token, app_id=args.app_id, **options)
        sim.add_conversations(args.conversations)
    else:
        sim = JiraSimulator(deployment=args.deployment, rate_limit=args.jira_rate_limit, **options)
        if args.webhook_url:
            sim.add_webhook(args.webhook_url, secret=args.webhook_secret)
    sim.start()
    print(sim.url, flush=True)
    print(f"validation {'on' if sim.validation_enabled else 'OFF'}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sim.stop())
    sim.serve_forever()


if __name__ == "__main__":
    main()
