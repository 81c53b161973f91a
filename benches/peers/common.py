"""What the Python peers of benches/e2e.rs share: the envelope (the pydantic v2 model of
docs/wire-format.md), the trading signal, the risk check, and how a run is measured.

The payload and the rule are those of the Rust bench's pipeline scenario: input i is a
TradingSignal with symbol SYMBOLS[i % 8], BUY for even i, quantity 100 * (1 + i % 10), price
2450.55 + (i % 100) / 100, keyed `strategy-{i % 64}`; a signal above 900 is rejected, every other
one is published as a ValidatedSignal caused by it.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Generic, Literal, TypeVar
from uuid import UUID

import uuid_utils.compat as uuid_utils
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

POSITION_LIMIT = 900
SYMBOLS = ["RELIANCE", "TCS", "INFY", "HDFCBANK", "ICICIBANK", "SBIN", "ITC", "LT"]
KEYS = 64


class EventEnvelope(BaseModel, Generic[T]):
    """docs/wire-format.md's model: `model_dump_json()` writes what streamkit writes."""

    model_config = ConfigDict(extra="ignore")

    id: UUID
    correlation_id: UUID
    causation_id: UUID | None = None
    broker: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    event_type: str
    source: str
    timestamp: datetime
    version: int = 1
    data: T


class TradingSignal(BaseModel):
    symbol: str
    signal: Literal["BUY", "SELL"]
    quantity: int
    price: Decimal


class ValidatedSignal(BaseModel):
    symbol: str
    signal: Literal["BUY", "SELL"]
    quantity: int
    price: Decimal
    limit: int


def new_id() -> UUID:
    """A UUIDv7 (Python 3.11 has no uuid.uuid7())."""
    return uuid_utils.uuid7()


def signal(i: int) -> TradingSignal:
    return TradingSignal(
        symbol=SYMBOLS[i % len(SYMBOLS)],
        signal="BUY" if i % 2 == 0 else "SELL",
        quantity=100 * (1 + i % 10),
        price=Decimal(245055 + i % 100).scaleb(-2),
    )


def key(i: int) -> bytes:
    return f"strategy-{i % KEYS}".encode()


def input_envelope(i: int) -> EventEnvelope[TradingSignal]:
    eid = new_id()
    return EventEnvelope[TradingSignal](
        id=eid,
        correlation_id=eid,
        broker="paper",
        event_type="trading_signal",
        source="bench-upstream",
        timestamp=datetime.now(UTC),
        data=signal(i),
    )


def validated(
    env: EventEnvelope[TradingSignal], source: str
) -> EventEnvelope[ValidatedSignal]:
    """The output caused by `env`: same correlation, `env` as its cause."""
    s = env.data
    return EventEnvelope[ValidatedSignal](
        id=new_id(),
        correlation_id=env.correlation_id,
        causation_id=env.id,
        broker=env.broker,
        event_type="validated_signal",
        source=source,
        timestamp=datetime.now(UTC),
        data=ValidatedSignal(
            symbol=s.symbol,
            signal=s.signal,
            quantity=s.quantity,
            price=s.price,
            limit=POSITION_LIMIT,
        ),
    )


def headers(env: EventEnvelope) -> list[tuple[str, bytes]]:
    """The record headers streamkit writes."""
    out = [
        ("event_type", env.event_type.encode()),
        ("event_id", str(env.id).encode()),
        ("correlation_id", str(env.correlation_id).encode()),
        ("content-type", b"application/json"),
    ]
    if env.causation_id is not None:
        out.append(("causation_id", str(env.causation_id).encode()))
    return out


def bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip() or "127.0.0.1:19092"


class Progress:
    """First message into user code to last one finished, wall clock and this process's CPU
    (time.process_time(): user + system of every thread, as getrusage(RUSAGE_SELF))."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.done = 0
        self.first: tuple[float, float] | None = None
        self.last: tuple[float, float] | None = None

    def arrived(self) -> None:
        if self.first is None:
            self.first = (time.perf_counter(), time.process_time())

    def finished(self, n: int = 1) -> bool:
        self.done += n
        if self.done >= self.target and self.last is None:
            self.last = (time.perf_counter(), time.process_time())
            return True
        return False

    def line(self, name: str) -> str:
        assert self.first and self.last, "not finished"
        wall = self.last[0] - self.first[0]
        cpu = self.last[1] - self.first[1]
        return (
            f"bench peer_{name} msgs_per_s={self.target / wall:.0f} "
            f"cpu_s_per_million={cpu * 1e6 / self.target:.2f}"
        )


def fail(line: str) -> None:
    print(f"bench-peers: {line}", file=sys.stderr)
    sys.exit(1)
