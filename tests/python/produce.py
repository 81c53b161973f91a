#!/usr/bin/env python3
"""Writes records to Kafka the way a Python service does: aiokafka, raw bytes, pydantic models.

Two modes, both reading the broker from ``KAFKA_BOOTSTRAP_SERVERS``:

``produce.py signals --topic T --count N [--key-prefix K] [--start S]``
    N trading signals as pydantic v2 envelopes (``model_dump_json()``), the envelope of
    docs/wire-format.md around the ``TradingSignal`` of the trading examples. The key is the
    symbol; the last stdout line is ``sent N``.

``produce.py raw``
    One record per JSON line on stdin: ``{"topic": str, "key": str|null, "value": str|null,
    "value_b64": str, "value_repeat": [str, n], "partition": int, "headers": [[str, str], ...]}``
    (``value`` is written as UTF-8, ``null`` is a tombstone; ``value_b64`` writes exact bytes;
    ``value_repeat`` writes a string repeated n times, for large records). Every record is
    acknowledged before the script exits; the last stdout line is ``sent N``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Generic, Literal, Optional, TypeVar

from aiokafka import AIOKafkaProducer
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
SYMBOLS = ["RELIANCE", "TCS", "INFY", "HDFC", "ITC", "SBIN", "LT", "WIPRO"]


class EventEnvelope(BaseModel, Generic[T]):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    correlation_id: uuid.UUID
    causation_id: Optional[uuid.UUID] = None
    broker: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    event_type: str
    source: str
    timestamp: datetime
    version: int = 1
    data: T


class TradingSignal(BaseModel):
    strategy: str
    symbol: str
    side: Literal["BUY", "SELL"]
    quantity: Decimal
    price: Decimal


def signal_envelope(broker: str, seq: int) -> EventEnvelope[TradingSignal]:
    ident = uuid.uuid4()
    return EventEnvelope[TradingSignal](
        id=ident,
        correlation_id=ident,
        broker=broker,
        event_type="trading_signal",
        source="py-strategy",
        timestamp=datetime.now(timezone.utc),
        data=TradingSignal(
            strategy=f"momentum-{seq % 3}",
            symbol=SYMBOLS[seq % len(SYMBOLS)],
            # Alternating sides of 1 keep every position inside the risk manager's limit.
            side="BUY" if seq % 2 == 0 else "SELL",
            quantity=Decimal(1),
            price=Decimal("2450.55") + Decimal(seq % 100) / 100,
        ),
    )


async def producer() -> AIOKafkaProducer:
    p = AIOKafkaProducer(
        bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=8 * 1024 * 1024,
    )
    await p.start()
    return p


async def send_signals(args: argparse.Namespace) -> int:
    broker = args.topic.split(".", 1)[0]
    p = await producer()
    try:
        pending = []
        for seq in range(args.start, args.start + args.count):
            env = signal_envelope(broker, seq)
            key = env.data.symbol.encode()
            value = env.model_dump_json().encode()
            pending.append(await p.send(args.topic, value=value, key=key))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await p.stop()
    return args.count


def record_value(rec: dict) -> Optional[bytes]:
    if "value_b64" in rec:
        return base64.b64decode(rec["value_b64"])
    if "value_repeat" in rec:
        text, n = rec["value_repeat"]
        return (text * n).encode()
    value = rec.get("value")
    return None if value is None else value.encode()


async def send_raw() -> int:
    p = await producer()
    sent = 0
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            rec = json.loads(line)
            key = rec.get("key")
            headers = [(k, v.encode()) for k, v in rec.get("headers", [])]
            fut = await p.send(
                rec["topic"],
                value=record_value(rec),
                key=None if key is None else key.encode(),
                partition=rec.get("partition"),
                headers=headers or None,
            )
            await fut  # in order, one at a time: the records' order is the test's
            sent += 1
    finally:
        await p.stop()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    sig = sub.add_parser("signals")
    sig.add_argument("--topic", required=True)
    sig.add_argument("--count", type=int, required=True)
    sig.add_argument("--start", type=int, default=0)
    sub.add_parser("raw")
    args = parser.parse_args()
    sent = asyncio.run(send_signals(args) if args.mode == "signals" else send_raw())
    print(f"sent {sent}")


if __name__ == "__main__":
    main()
