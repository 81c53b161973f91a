"""Runs the Python peers of the e2e pipeline scenario against one broker (scripts/bench-peers
calls it inside its venv).

Creates an input topic with 6 partitions and fills it with MESSAGES trading signals (the Rust
bench's payload, written by pydantic), then runs each peer in its own process (so its CPU time is
its own) in a new consumer group, and checks that each wrote one output per accepted signal. The
last lines are `bench peer_<name> msgs_per_s=<n> cpu_s_per_million=<n>`.

Usage: run.py [--messages N] [--only faststream|aiokafka]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition
from common import POSITION_LIMIT, bootstrap, fail, headers, input_envelope, key, signal

HERE = os.path.dirname(os.path.abspath(__file__))
PARTITIONS = 6
PEERS = {"faststream": "faststream_pipeline.py", "aiokafka": "aiokafka_pipeline.py"}


def unique(name: str) -> str:
    return f"paper.bench-py-{os.getpid()}-{uuid.uuid4().hex[:8]}.{name}"


async def setup(topics: list[str], n: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(), request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), timeout=10)
    except Exception as e:  # noqa: BLE001 - any failure to connect is the same one line
        fail(
            f"no Kafka broker reachable at {bootstrap()} ({e!r}); start one with "
            "`scripts/kafka up` or set KAFKA_BOOTSTRAP_SERVERS"
        )
    try:
        await admin.create_topics(
            [
                NewTopic(t, num_partitions=PARTITIONS, replication_factor=1)
                for t in topics
            ]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap(), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        for _ in range(50):  # the new topic's metadata may take a moment
            if len(await producer.partitions_for(topics[0]) or ()) == PARTITIONS:
                break
            await asyncio.sleep(0.1)
        pending = []
        for i in range(n):
            env = input_envelope(i)
            pending.append(
                await producer.send(
                    topics[0],
                    value=env.model_dump_json().encode(),
                    key=key(i),
                    headers=headers(env),
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def records_in(topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap())
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        end = await consumer.end_offsets(tps)
        start = await consumer.beginning_offsets(tps)
        return sum(end[tp] - start[tp] for tp in tps)
    finally:
        await consumer.stop()


async def delete(topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap())
    await admin.start()
    try:
        await admin.delete_topics(topics)
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--only", choices=sorted(PEERS))
    args = parser.parse_args()
    # aiokafka warns while a just-created topic elects its leaders (the sends are retried) and
    # logs a failed connection before raising it: the one line that matters is ours.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    n = args.messages
    names = [args.only] if args.only else list(PEERS)
    input_topic = unique("signals")
    outputs = {name: unique(f"validated-{name}") for name in names}
    topics = [input_topic, *outputs.values()]
    asyncio.run(setup(topics, n))
    print(
        f"bench-peers: {n} messages on {input_topic}, broker {bootstrap()}",
        file=sys.stderr,
    )
    accepted = sum(1 for i in range(n) if signal(i).quantity <= POSITION_LIMIT)
    lines = []
    try:
        for name in names:
            group = f"bench-py-{name}-{uuid.uuid4().hex[:8]}"
            out = (
                subprocess.run(
                    [
                        sys.executable,
                        os.path.join(HERE, PEERS[name]),
                        input_topic,
                        outputs[name],
                        group,
                        str(n),
                    ],
                    cwd=HERE,
                    check=True,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                .stdout.strip()
                .splitlines()
            )
            line = out[-1]
            written = asyncio.run(records_in(outputs[name]))
            print(f"{line}   (outputs {written}, expected {accepted})", file=sys.stderr)
            if written != accepted:
                fail(f"peer {name} wrote {written} outputs, expected {accepted}")
            lines.append(line)
    finally:
        asyncio.run(delete(topics))
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
