#!/usr/bin/env python3
"""Read the events stream of a leadrouter pool as a CRM connector would.

    python3 -m pip install redis
    python3 examples/crm_consumer.py --pool sales --group crm --consumer crm-1

The consumer reads lr:{POOL}:events with XREADGROUP in a consumer group and prints one line
per assigned, claimed, reassigned and closed event. It acknowledges other entries (waiting,
manual, open, dead) without printing them. Each entry is XACKed after it is handled.

Delivery is at least once. An entry that was read but not acknowledged stays in the group's
pending entries list, and on start the consumer reads its own pending entries (ID 0) before
new ones (ID >). A crash before an entry is handled loses nothing. A crash after an entry is
handled but before its XACK handles that entry again after the restart.
"""

import argparse
import os
import sys
import time

import redis

PRINTED_TYPES = {"assigned", "claimed", "reassigned", "closed"}
# Exit status of --crash-after, which imitates a crash (kill -9 or a power cut).
CRASH_STATUS = 3


def parse_args():
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
    parser.add_argument("--group", metavar="NAME", default="crm", help="consumer group name (default %(default)s)")
    parser.add_argument(
        "--consumer",
        metavar="NAME",
        default="crm-1",
        help="consumer name; keep it across restarts so the pending entries are found again "
        "(default %(default)s)",
    )
    parser.add_argument("--count", type=int, metavar="N", default=100, help="maximum entries per XREADGROUP (default %(default)s)")
    parser.add_argument(
        "--block-ms", type=int, metavar="MS", default=5000, help="how long one XREADGROUP waits for new entries, in ms (default %(default)s)"
    )
    parser.add_argument("--max-entries", type=int, metavar="N", help="exit with status 0 after handling this many entries")
    parser.add_argument("--output", metavar="FILE", help="append the lead id of each printed event to this file, one per line")
    parser.add_argument(
        "--crash-after",
        type=int,
        metavar="N",
        help=f"for tests: exit at once with status {CRASH_STATUS} when the Nth entry is read, "
        "before it is handled or acknowledged",
    )
    return parser.parse_args()


def create_group(client, stream, group):
    """Create the consumer group at the start of the stream, unless it exists already."""
    try:
        # ID 0: a new group reads every entry still in the stream (capped at events_maxlen).
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def handle(fields, output):
    """Print one line for the event types a CRM cares about, then record the lead id in output."""
    kind = fields.get("type", "")
    if kind not in PRINTED_TYPES:
        return
    lead = fields.get("lead", "")
    print(
        f"{kind:<10} lead={lead} manager={fields.get('manager', '')} "
        f"group={fields.get('group', '')} speed_ms={fields.get('speed_ms', '-')}",
        flush=True,
    )
    if output:
        output.write(lead + "\n")
        output.flush()  # written before the XACK, so a crash after this line repeats the entry


def main():
    args = parse_args()
    client = redis.Redis.from_url(
        args.redis, password=os.environ.get("LEADROUTER_REDIS_PASSWORD"), decode_responses=True
    )
    stream = f"lr:{{{args.pool}}}:events"
    create_group(client, stream, args.group)
    output = open(args.output, "a", encoding="utf-8") if args.output else None

    handled = 0
    read = 0
    # "0" reads this consumer's pending entries, read before a crash or restart but never
    # acknowledged. When none are left, ">" reads entries no consumer of the group has seen.
    next_id = "0"
    while args.max_entries is None or handled < args.max_entries:
        count = args.count if args.max_entries is None else min(args.count, args.max_entries - handled)
        try:
            reply = client.xreadgroup(args.group, args.consumer, {stream: next_id}, count=count, block=args.block_ms)
            entries = reply[0][1] if reply else []
            if next_id != ">":
                if not entries:
                    next_id = ">"
                    continue
                next_id = entries[-1][0]

            for entry_id, fields in entries:
                read += 1
                if read == args.crash_after:
                    sys.stderr.write(f"crm_consumer: --crash-after {read}: exiting before handling entry {entry_id}\n")
                    sys.stderr.flush()
                    os._exit(CRASH_STATUS)
                # A pending entry that MAXLEN trimmed from the stream comes back without fields.
                if fields:
                    handle(fields, output)
                client.xack(stream, args.group, entry_id)
                handled += 1
        except redis.ConnectionError as error:
            print(f"crm_consumer: lost connection to Redis ({error}); retrying in 1 s", file=sys.stderr)
            time.sleep(1)
            # Entries read just before the error may not be acknowledged: read the pending ones again.
            next_id = "0"


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
