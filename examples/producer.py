#!/usr/bin/env python3
"""Push sample leads onto the incoming list of a leadrouter pool.

    python3 -m pip install redis
    python3 examples/producer.py --pool sales --count 10

A lead is one JSON object, LPUSHed to lr:{POOL}:incoming. The workers take leads from the
right end of the list, so they are assigned in the order they were pushed.
"""

import argparse
import json
import os
import random
import time
import uuid

import redis

SPECIALIZATIONS = ["Finance Management", "Marketing Management", "IT Projects Management", "Select"]
SOURCES = ["Google", "Direct Traffic", "Olark Chat", "Reference"]


def make_lead(lead_id):
    return {
        "id": lead_id,  # a lead id is assigned at most once, so a retried push is harmless
        "created_at": int(time.time() * 1000),  # epoch ms; speed-to-lead is measured from it
        "specialization": random.choice(SPECIALIZATIONS),
        "source": random.choice(SOURCES),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=os.environ.get("LEADROUTER_REDIS_URL", "redis://127.0.0.1:6379"),
        help="redis://[user:password@]host:port/db or unix:///path/redis.sock "
        "(env LEADROUTER_REDIS_URL, default %(default)s)",
    )
    parser.add_argument(
        "--pool",
        metavar="NAME",
        default=os.environ.get("LEADROUTER_POOL", "default"),
        help="pool name (env LEADROUTER_POOL, default %(default)s)",
    )
    parser.add_argument("--count", type=int, metavar="N", default=1, help="number of leads to push (default 1)")
    parser.add_argument(
        "--id-prefix",
        metavar="PREFIX",
        default=f"web-{uuid.uuid4().hex[:8]}-",
        help="lead ids are PREFIX1 ... PREFIXN (default: web- and 8 random hex digits, "
        "so two runs never reuse an id)",
    )
    args = parser.parse_args()

    # The password may come from the environment, so that it does not show in a process list.
    client = redis.Redis.from_url(args.redis, password=os.environ.get("LEADROUTER_REDIS_PASSWORD"))
    key = f"lr:{{{args.pool}}}:incoming"

    leads = [json.dumps(make_lead(f"{args.id_prefix}{n}")) for n in range(1, args.count + 1)]
    # One LPUSH per 1,000 leads. LPUSH k a b c leaves a at the right end, so order is kept.
    for start in range(0, len(leads), 1000):
        client.lpush(key, *leads[start : start + 1000])
    print(f"pushed {len(leads)} leads to {key}")


if __name__ == "__main__":
    main()
