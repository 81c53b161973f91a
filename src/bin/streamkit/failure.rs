//! [`Failure`]: why a command stopped, and the exit code it stops with.

use std::fmt;
use std::process::ExitCode;

/// A command's failure: the message printed on stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code: see [`Failure::found`], [`Failure::usage`] and [`Failure::cluster`].
    pub code: u8,
    /// What went wrong and, where there is one, the fix.
    pub message: String,
}

/// What every command returns.
pub type Outcome = Result<(), Failure>;

impl Failure {
    /// Exit 1: the command ran and found what it checks for (topic drift, a change it cannot
    /// make, no envelope of a traced chain, dead letters not replayed).
    pub fn found(message: impl Into<String>) -> Self {
        Self::new(1, message)
    }

    /// Exit 2: bad usage or configuration (a bad catalog, a topic that is not one).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(2, message)
    }

    /// Exit 3: the cluster could not be reached or refused a request.
    pub fn cluster(message: impl Into<String>) -> Self {
        Self::new(3, message)
    }

    fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<stream_core::Error> for Failure {
    fn from(error: stream_core::Error) -> Self {
        use stream_core::Error;
        match error {
            Error::Config { .. } | Error::Topic(_) | Error::Wiring { .. } => {
                Self::usage(error.to_string())
            }
            other => Self::cluster(other.to_string()),
        }
    }
}

impl From<rdkafka::error::KafkaError> for Failure {
    fn from(error: rdkafka::error::KafkaError) -> Self {
        Self::cluster(format!("the cluster refused a request: {error}"))
    }
}

impl From<stream_core::topic::TopicError> for Failure {
    fn from(error: stream_core::topic::TopicError) -> Self {
        Self::usage(error.to_string())
    }
}
