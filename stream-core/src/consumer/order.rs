//! [`Order`]: what a consumer keeps in order when it handles several records of one partition at
//! once ([`ConsumerOptions::concurrency`](crate::consumer::ConsumerOptions::concurrency)).

/// What a consumer handling up to `concurrency` records of one partition at once keeps in
/// order.
///
/// Whatever the mode, commits stay contiguous: an offset is committed only once it and every
/// earlier offset of its partition are finished, so a crash replays and never skips.
///
/// ```
/// use stream_core::consumer::Order;
/// assert_eq!(Order::default(), Order::Key);
/// assert_eq!("partition".parse::<Order>(), Ok(Order::Partition));
/// assert!("keys".parse::<Order>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// One key's records are handled one at a time, in offset order (a retrying record holds
    /// back only the later records of its key); records of different keys run concurrently.
    /// Records without a key are one key of their own: in order among themselves. The default
    /// when `concurrency` is above 1.
    #[default]
    Key,
    /// A partition's records are handled one at a time, in offset order, whatever the
    /// concurrency: what a consumer does with `concurrency` 1.
    Partition,
    /// No order: any of a partition's records may run at the same time as any other, up to
    /// `concurrency` of them (with dedup on, two deliveries of one event id still never run at
    /// once).
    None,
}

impl Order {
    /// The name the `#[stream_handler(order = "...")]` argument uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Key => "key",
            Order::Partition => "partition",
            Order::None => "none",
        }
    }
}

impl std::str::FromStr for Order {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "key" => Ok(Order::Key),
            "partition" => Ok(Order::Partition),
            "none" => Ok(Order::None),
            other => Err(format!(
                "unknown order `{other}`; expected `key`, `partition` or `none`"
            )),
        }
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
