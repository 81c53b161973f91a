#!/usr/bin/env python3
"""A Python service beside the Rust risk manager, speaking through models generated from
streamkit's own schemas (datamodel-code-generator, pydantic v2).

``interop.py --models DIR --broker B``
    Writes the signals of SIGNALS (one symbol, in order) to ``B.signals.raw`` as envelopes built
    and validated with ``DIR/trading_signal.py``; reads every answer from ``B.signals.validated``
    and ``B.signals.rejected`` (aiokafka, no consumer group), parses each with the generated
    model of its event type and checks it against the signal that caused it: ids, correlation
    and causation, every Decimal digit, the timestamp. Prints one JSON line per answer (what was
    read, as the model gives it) and a last line ``{"answers": n}``; exits non-zero on the first
    answer that does not check out, or when answers are missing after 90 s.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import secrets
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

LIMIT = Decimal(400)  # the risk manager's POSITION_LIMIT
# (side, quantity, price): exact decimals of several scales, positions crossing the limit.
SIGNALS = [
    ("BUY", "150", "2450.5500"),
    ("BUY", "150", "98765432109876.54321"),
    ("BUY", "150", "0.000123"),  # 450 > 400: rejected, the position stays 300
    ("SELL", "100.25", "1.1"),
    ("BUY", "200.250000001", "2450.55"),  # 400.000000001: rejected
    ("BUY", "200.25", "7.000"),  # exactly 400.00: validated
]


def uuid7() -> str:
    """A UUIDv7 (Python 3.11 has no uuid.uuid7): 48 bits of Unix milliseconds, then random."""
    ms = time.time_ns() // 1_000_000
    value = (ms << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62) | secrets.randbits(62)
    return str(uuid.UUID(int=value))


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fail(message: str) -> None:
    print(f"interop.py: {message}", file=sys.stderr)
    sys.exit(1)


def check(ok: bool, message: str) -> None:
    if not ok:
        fail(message)


def load_models(directory: str):
    sys.path.insert(0, directory)
    mods = {e: importlib.import_module(e) for e in ("trading_signal", "validated_signal", "rejected_signal")}
    return (
        mods["trading_signal"].TradingSignalEnvelope,
        mods["validated_signal"].ValidatedSignalEnvelope,
        mods["rejected_signal"].RejectedSignalEnvelope,
    )


def signals(model, broker: str, symbol: str) -> list:
    out = []
    for seq, (side, quantity, price) in enumerate(SIGNALS):
        ident = uuid7()
        out.append(model.model_validate({
            "id": ident,
            "correlation_id": ident,
            "causation_id": None,
            "broker": broker,
            "event_type": "trading_signal",
            "source": "py-interop",
            "timestamp": now_rfc3339(),
            "version": 1,
            "data": {"strategy": f"py-{seq}", "symbol": symbol, "side": side,
                     "quantity": Decimal(quantity), "price": Decimal(price)},
        }))
    return out


def expected_verdicts() -> list:
    position, out = Decimal(0), []
    for side, quantity, _ in SIGNALS:
        after = position + (1 if side == "BUY" else -1) * Decimal(quantity)
        if abs(after) > LIMIT:
            out.append(("rejected_signal", None))
        else:
            position = after
            out.append(("validated_signal", str(after)))
    return out


def check_answer(env, cause, want, sent_at: datetime) -> dict:
    """One answer against the signal that caused it; what was read, as JSON."""
    event_type, position = want
    check(env.event_type == event_type, f"answer to {cause.id} is {env.event_type}, expected {event_type}")
    check(uuid.UUID(env.id).version == 7 and env.id != cause.id, f"answer id {env.id}")
    check(env.correlation_id == cause.correlation_id, f"correlation {env.correlation_id} != {cause.correlation_id}")
    check(env.causation_id == cause.id, f"causation {env.causation_id} != {cause.id}")
    check(env.broker == cause.broker and env.source == "risk-manager", f"{env.broker} {env.source}")
    check(env.version == 1, f"version {env.version}")
    at = parse_time(env.timestamp)
    check(env.timestamp.endswith("Z") and len(env.timestamp.split(".")[1]) == 7, f"timestamp {env.timestamp}")
    check(sent_at - timedelta(seconds=5) <= at <= datetime.now(timezone.utc) + timedelta(seconds=5), f"timestamp {env.timestamp}")
    signal = env.data.signal
    for field in ("quantity", "price"):
        got, sent = getattr(signal, field), getattr(cause.data, field)
        check(isinstance(got, Decimal) and str(got) == str(sent), f"{field} {got!r} != {sent!r}")
    check((signal.symbol, signal.strategy, signal.side.value) == (cause.data.symbol, cause.data.strategy, cause.data.side.value), f"{signal}")
    read = {"event_type": env.event_type, "id": env.id, "correlation_id": env.correlation_id,
            "causation_id": env.causation_id, "timestamp": env.timestamp,
            "quantity": str(signal.quantity), "price": str(signal.price)}
    if position is not None:
        check(isinstance(env.data.position_after, Decimal) and str(env.data.position_after) == position, f"position_after {env.data.position_after} != {position}")
        read["position_after"] = str(env.data.position_after)
    else:
        check("over the limit" in env.data.reason, f"reason {env.data.reason!r}")
        read["reason"] = env.data.reason
    return read


async def produce(bootstrap: str, topic: str, envelopes: list) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await p.start()
    try:
        for env in envelopes:
            fut = await p.send(topic, value=env.model_dump_json().encode(), key=env.data.symbol.encode())
            await fut  # in order: the positions depend on it
    finally:
        await p.stop()


async def read_answers(bootstrap: str, topics: list, n: int) -> list:
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await c.start()
    try:
        parts = [TopicPartition(t, p) for t in topics for p in sorted(c.partitions_for_topic(t) or await _partitions(c, t))]
        c.assign(parts)
        await c.seek_to_beginning(*parts)
        answers, deadline = [], time.monotonic() + 90
        while len(answers) < n and time.monotonic() < deadline:
            for records in (await c.getmany(timeout_ms=500)).values():
                answers.extend(records)
        return answers
    finally:
        await c.stop()


async def _partitions(c: AIOKafkaConsumer, topic: str) -> set:
    await c._client.force_metadata_update()  # a topic this consumer has not seen yet
    return c.partitions_for_topic(topic) or {0}


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--broker", required=True)
    args = ap.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    signal_model, validated_model, rejected_model = load_models(args.models)
    symbol = f"PY{secrets.token_hex(3).upper()}"
    sent_at = datetime.now(timezone.utc)
    sent = signals(signal_model, args.broker, symbol)
    await produce(bootstrap, f"{args.broker}.signals.raw", sent)
    outputs = [f"{args.broker}.signals.validated", f"{args.broker}.signals.rejected"]
    records = await read_answers(bootstrap, outputs, len(sent))
    check(len(records) == len(sent), f"{len(records)} answers of {len(sent)} after 90 s")
    by_cause = {}
    for r in records:
        model = validated_model if r.topic.endswith(".validated") else rejected_model
        env = model.model_validate_json(r.value)
        check(r.key == symbol.encode(), f"key {r.key!r}")
        check(env.causation_id not in by_cause, f"two answers to {env.causation_id}")
        by_cause[env.causation_id] = env
    for seq, (cause, want) in enumerate(zip(sent, expected_verdicts())):
        env = by_cause.get(cause.id)
        check(env is not None, f"no answer to signal {seq} ({cause.id})")
        read = check_answer(env, cause, want, sent_at)
        print(json.dumps({"seq": seq, "signal_id": cause.id, **read}))
    print(json.dumps({"answers": len(by_cause)}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
