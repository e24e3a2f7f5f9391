#!/usr/bin/env python3
"""Produce shop events to recstream's events topic with confluent-kafka.

Reads JSON Lines events (the output of `recstream gen`, or any file in the
input schema) from a file or stdin, or generates a small synthetic shop
itself with --generate N. Each message's key is the event's user_id, so one
user's events stay ordered in one partition (recstream's input contract).

    recstream gen -n 1000 | python3 examples/producer.py --bootstrap localhost:9092
    python3 examples/producer.py --bootstrap localhost:9092 --generate 500

Lines that are not a JSON object with a user_id are skipped and counted (the
processor would dead-letter them anyway, but without a user id there is no
key). Exits 0 when every message was delivered, 1 otherwise.
"""
import argparse
import json
import random
import sys
import time

try:
    from confluent_kafka import Producer
except ImportError:
    sys.exit("producer.py: the confluent_kafka module is missing "
             "(Debian: apt-get install python3-confluent-kafka, or scripts/setup.sh)")


def read_events(stream):
    """Yields (line_number, key, value) for each usable line."""
    for n, line in enumerate(stream, 1):
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
            user = event["user_id"]
        except (ValueError, KeyError, TypeError):
            print(f"producer.py: line {n}: not a JSON event with a user_id, skipped", file=sys.stderr)
            continue
        yield n, str(user), line


def generate(count, seed):
    """A tiny shop: users browse a category, then often move on to a fixed
    complement of it (phones -> cases), so the lists have something to learn."""
    rng = random.Random(seed)
    categories = ["phones", "cases", "chargers", "earphones", "laptops", "bags", "mice", "monitors"]
    complement = {"phones": "cases", "cases": "chargers", "chargers": "earphones", "earphones": "phones",
                  "laptops": "bags", "bags": "mice", "mice": "monitors", "monitors": "laptops"}
    current = {}
    now = int(time.time() * 1000) - count * 1000
    for i in range(count):
        user = f"u{rng.randrange(50)}"
        cat = current.get(user) or rng.choice(categories)
        kind = rng.choices(["view", "click", "cart", "purchase"], [60, 25, 10, 5])[0]
        item = f"{cat}-{min(int(rng.paretovariate(1.2)), 30)}"
        current[user] = complement[cat] if kind == "purchase" or rng.random() < 0.2 else cat
        event = {"event_id": f"py{i}", "user_id": user, "item_id": item, "category_id": cat,
                 "type": kind, "ts": now + i * 1000}
        yield i + 1, user, json.dumps(event, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bootstrap", default="localhost:9092", help="Kafka bootstrap servers (default: %(default)s)")
    ap.add_argument("--topic", default="events", help="events topic (default: %(default)s)")
    ap.add_argument("--input", default="-", help="JSON Lines file, '-' = stdin (default: %(default)s)")
    ap.add_argument("--generate", type=int, metavar="N", help="generate N synthetic events instead of reading input")
    ap.add_argument("--seed", type=int, default=1, help="seed for --generate (default: %(default)s)")
    args = ap.parse_args()

    failed = []

    def on_delivery(err, msg):
        if err is not None:
            failed.append(str(err))

    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5,
                         "enable.idempotence": True, "client.id": "recstream-example-producer"})
    if args.generate is not None:
        events = generate(args.generate, args.seed)
    elif args.input == "-":
        events = read_events(sys.stdin)
    else:
        events = read_events(open(args.input, encoding="utf-8"))

    sent = 0
    for _, key, value in events:
        while True:
            try:
                producer.produce(args.topic, key=key.encode(), value=value.encode(), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)  # the local queue is full: serve delivery reports, then retry
        producer.poll(0)
        sent += 1
    left = producer.flush(30)
    if left or failed:
        print(f"producer.py: {len(failed)} failed, {left} undelivered of {sent}"
              + (f"; first error: {failed[0]}" if failed else ""), file=sys.stderr)
        return 1
    print(f"producer.py: delivered {sent} events to {args.topic}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
