//! Risk manager: validates signals against a position limit per (broker, symbol).
//! `*.signals.raw` → `<broker>.signals.validated` or `<broker>.signals.rejected`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use streamkit::prelude::*;

use super::events::{RejectedSignal, TradingSignal, ValidatedSignal};

/// The largest absolute position allowed per symbol.
pub const POSITION_LIMIT: i64 = 400;

/// Positions the risk manager has allowed so far, per (broker, symbol).
#[derive(Clone, Default)]
pub struct Exposure(Arc<Mutex<HashMap<(String, String), Decimal>>>);

// The catalog's topics as typed publish targets (`topics::signals_validated::on(broker)`).
streamkit::topics!();

#[stream_handler(
    topics = "*.signals.raw",
    group = "risk-manager.signals",
    publishes = ["signals.validated", "signals.rejected"]
)]
pub async fn check_limits(
    Envelope(signal): Envelope<TradingSignal>,
    ctx: Context,
    State(exposure): State<Exposure>,
) -> Result<(), HandlerError> {
    let s = signal.data;
    let key = (ctx.broker().to_string(), s.symbol.clone());
    let verdict = {
        let mut positions = exposure.0.lock().unwrap();
        let position = positions.entry(key).or_default();
        let after = *position + s.side.sign() * s.quantity;
        if after.abs() > Decimal::from(POSITION_LIMIT) {
            Err(format!(
                "position would be {after} {}, over the limit of {POSITION_LIMIT}",
                s.symbol
            ))
        } else {
            *position = after;
            Ok(after)
        }
    };
    match verdict {
        Ok(position_after) => {
            let out = topics::signals_validated::on(ctx.broker());
            ctx.publish_keyed(
                &out,
                &s.symbol.clone(),
                &ValidatedSignal {
                    signal: s,
                    position_after,
                },
            )
            .await?;
        }
        Err(reason) => {
            let out = topics::signals_rejected::on(ctx.broker());
            ctx.publish_keyed(
                &out,
                &s.symbol.clone(),
                &RejectedSignal { signal: s, reason },
            )
            .await?;
        }
    }
    Ok(())
}
