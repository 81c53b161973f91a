"""The pipeline in plain aiokafka with pydantic v2 envelopes, written for throughput with the
same at-least-once guarantee as streamkit and the raw Rust loop: read a batch (getmany), decode
each record with `model_validate_json`, check it, send the outputs (`send` returns a delivery
future without waiting), wait for the batch's deliveries, and only then count its offsets as done;
commit those every 500 ms. Producer: acks=all, idempotence, as streamkit's.

Usage: aiokafka_pipeline.py INPUT_TOPIC OUTPUT_TOPIC GROUP MESSAGES
"""

from __future__ import annotations

import asyncio
import sys
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from common import (
    POSITION_LIMIT,
    EventEnvelope,
    Progress,
    TradingSignal,
    bootstrap,
    headers,
    validated,
)


async def main(input_topic: str, output_topic: str, group: str, n: int) -> None:
    progress = Progress(n)
    consumer = AIOKafkaConsumer(
        input_topic,
        bootstrap_servers=bootstrap(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap(), acks="all", enable_idempotence=True
    )
    await consumer.start()
    await producer.start()
    seen: set = set()
    done: dict = {}
    last_commit = time.monotonic()
    parse = EventEnvelope[TradingSignal].model_validate_json
    try:
        while progress.done < n:
            batches = await consumer.getmany(timeout_ms=100, max_records=1000)
            deliveries = []
            count = 0
            for tp, records in batches.items():
                for rec in records:
                    progress.arrived()
                    count += 1
                    env = parse(rec.value)
                    if env.id in seen:
                        continue
                    seen.add(env.id)
                    if env.data.quantity > POSITION_LIMIT:
                        continue
                    out = validated(env, "bench-risk-aiokafka")
                    deliveries.append(
                        await producer.send(
                            output_topic,
                            value=out.model_dump_json().encode(),
                            key=rec.key,
                            headers=headers(out),
                        )
                    )
                done[tp] = records[-1].offset + 1
            if deliveries:
                await asyncio.gather(*deliveries)
            progress.finished(count)
            if time.monotonic() - last_commit >= 0.5:
                await consumer.commit(done)
                last_commit = time.monotonic()
        await consumer.commit(done)
    finally:
        await producer.stop()
        await consumer.stop()
    print(progress.line("aiokafka"), flush=True)


if __name__ == "__main__":
    topic_in, topic_out, group_id, count = sys.argv[1:5]
    asyncio.run(main(topic_in, topic_out, group_id, int(count)))
