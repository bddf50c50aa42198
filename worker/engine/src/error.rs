//! One error type for loading, planning and running, always naming what failed and why.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The file is not a readable ONNX model (truncated, corrupt, unsupported encoding).
    Model(String),
    /// A node cannot be planned or run: names the node, its op and the reason.
    Node { node: String, op: String, reason: String },
    /// The caller's inputs do not fit the model.
    Input(String),
    /// A backend failed outside any one node (device loss, allocation).
    Backend(String),
    /// The caller stopped the run.
    Cancelled,
}

impl Error {
    pub fn node(node: &str, op: &str, reason: impl Into<String>) -> Self {
        Error::Node { node: node.to_string(), op: op.to_string(), reason: reason.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Model(reason) => write!(f, "invalid model: {reason}"),
            Error::Node { node, op, reason } => write!(f, "node '{node}' ({op}): {reason}"),
            Error::Input(reason) => write!(f, "invalid input: {reason}"),
            Error::Backend(reason) => write!(f, "backend error: {reason}"),
            Error::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for Error {}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Backend(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
