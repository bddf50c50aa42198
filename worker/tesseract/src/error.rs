//! Why a `.traineddata` file could not be used, in words a person can act on.

use std::fmt;

/// A `.traineddata` file that this reader refuses, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The file ends before a field it promises; `what` names the field being read.
    Truncated { what: &'static str, offset: usize },
    /// The file's structure is inconsistent (a bad offset, an impossible size, a stray byte).
    Damaged(String),
    /// The file holds only Tesseract's legacy (pre-LSTM) engine, which this reader does not run.
    LegacyOnly,
    /// A component the LSTM recogniser needs is absent.
    MissingComponent(&'static str),
    /// The network is not the convolution + max-pool + LSTM + softmax template this reader runs.
    UnsupportedNetwork(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Truncated { what, offset } => {
                write!(f, "the file is truncated: it ends at byte {offset} while reading {what}")
            }
            ReadError::Damaged(reason) => write!(f, "the file is damaged: {reason}"),
            ReadError::LegacyOnly => write!(
                f,
                "the file holds only Tesseract's legacy recogniser and no LSTM network; use an LSTM model \
                 (tessdata_fast or tessdata_best)"
            ),
            ReadError::MissingComponent(name) => {
                write!(f, "the file has no `{name}` component, which the LSTM recogniser needs")
            }
            ReadError::UnsupportedNetwork(reason) => write!(f, "the network is not one this reader runs: {reason}"),
        }
    }
}

impl std::error::Error for ReadError {}
