#!/usr/bin/env python3
"""Read recstream's recommendations topic with confluent-kafka and print the lists.

One line per message:

    user u42 | trigger e9 purchase i7 in phones | i91 cases complement 0.830, i12 chargers bought_together 0.790, ... (20 items)

A tombstone (after a forget_user) prints `user u42 | forgotten`. --json
prints each message value as it arrived instead. Stops after --max lists,
after --timeout seconds, or on Ctrl-C.

    python3 examples/consumer.py --bootstrap localhost:9092 --max 10
"""
import argparse
import json
import signal
import sys
import time

try:
    from confluent_kafka import Consumer, KafkaError
except ImportError:
    sys.exit("consumer.py: the confluent_kafka module is missing "
             "(Debian: apt-get install python3-confluent-kafka, or scripts/setup.sh)")


def describe(key, value, shown):
    """The human line for one message (value: bytes or None), with at most
    `shown` items (0 = all)."""
    user = key.decode(errors="replace") if key else "?"
    if value is None:
        return f"user {user} | forgotten"
    try:
        msg = json.loads(value)
        t = msg.get("trigger", {})
        all_items = msg.get("items", [])
        cut = all_items[:shown] if shown > 0 else all_items
        items = ", ".join(f"{i['item_id']} {i.get('category_id', '?')} {i.get('reason', '?')} {i.get('score', 0):.3f}"
                          for i in cut)
        if len(cut) < len(all_items):
            items += f", ... ({len(all_items)} items)"
        return (f"user {msg.get('user_id', user)} | trigger {t.get('event_id', '-')} {t.get('type', '?')} "
                f"{t.get('item_id', '?')} in {t.get('category_id', '?')} | {items or '(empty)'}")
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"user {user} | unreadable message: {value[:80]!r}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", default="localhost:9092", help="Kafka bootstrap servers (default: %(default)s)")
    ap.add_argument("--topic", default="recommendations", help="recommendations topic (default: %(default)s)")
    ap.add_argument("--group", default="recstream-example-consumer", help="consumer group (default: %(default)s)")
    ap.add_argument("--max", type=int, default=0, help="stop after this many lists (0 = no limit)")
    ap.add_argument("--timeout", type=float, default=0, help="stop after this many seconds (0 = no limit)")
    ap.add_argument("--items", type=int, default=5, help="items printed per list, 0 = all (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print the message values as they arrived")
    args = ap.parse_args()

    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                         "auto.offset.reset": "earliest", "client.id": "recstream-example-consumer"})
    consumer.subscribe([args.topic])
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    got = 0
    try:
        while not stop and (args.max <= 0 or got < args.max):
            if deadline is not None and time.monotonic() >= deadline:
                break
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                # The topic may not exist until the processor creates or first writes it.
                if msg.error().code() not in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                    print(f"consumer.py: {msg.error()}", file=sys.stderr)
                continue
            got += 1
            if args.json:
                print(msg.value().decode(errors="replace") if msg.value() is not None else "null", flush=True)
            else:
                print(describe(msg.key(), msg.value(), args.items), flush=True)
    finally:
        consumer.close()
    print(f"consumer.py: {got} lists", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
