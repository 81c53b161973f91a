"""The pipeline in FastStream, written the way its documentation shows: a subscriber whose
handler takes the pydantic envelope and publishes through a publisher, which waits for the
broker's acknowledgement.

Settings: FastStream's defaults except what the scenario needs (group, read from the earliest
offset) and the producer's delivery settings, made the same as streamkit's (acks=all,
idempotence). Its default ack policy commits offsets automatically in the background
(at-most-once if the process dies mid-batch); per-message logging is turned off. Both choices make
FastStream faster than its at-least-once setting (AckPolicy.ACK, a commit per message) or its
default logging would, so the comparison flatters it.

Usage: faststream_pipeline.py INPUT_TOPIC OUTPUT_TOPIC GROUP MESSAGES
"""

from __future__ import annotations

import asyncio
import sys

from common import (
    POSITION_LIMIT,
    EventEnvelope,
    Progress,
    TradingSignal,
    bootstrap,
    headers,
    validated,
)
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage


async def main(input_topic: str, output_topic: str, group: str, n: int) -> None:
    progress = Progress(n)
    done = asyncio.Event()
    seen: set = set()

    broker = KafkaBroker(bootstrap(), acks="all", enable_idempotence=True, logger=None)
    publisher = broker.publisher(output_topic)

    @broker.subscriber(input_topic, group_id=group, auto_offset_reset="earliest")
    async def risk_check(env: EventEnvelope[TradingSignal], msg: KafkaMessage) -> None:
        progress.arrived()
        if env.id not in seen:
            seen.add(env.id)
            if env.data.quantity <= POSITION_LIMIT:
                out = validated(env, "bench-risk-faststream")
                await publisher.publish(
                    out,
                    key=msg.raw_message.key,
                    headers={k: v.decode() for k, v in headers(out)},
                )
        if progress.finished():
            done.set()

    async with broker:
        await broker.start()
        await asyncio.wait_for(done.wait(), timeout=600)
    print(progress.line("faststream"), flush=True)


if __name__ == "__main__":
    topic_in, topic_out, group_id, count = sys.argv[1:5]
    asyncio.run(main(topic_in, topic_out, group_id, int(count)))
