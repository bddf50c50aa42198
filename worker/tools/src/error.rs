use std::fmt;

use crate::input::InputError;

/// Why a tool could not finish, worded for the person who asked.
#[derive(Debug)]
pub enum ToolError {
    Input(InputError),
    /// The model file or its description cannot be used.
    Model(String),
    /// The Tesseract model cannot be used.
    TesseractModel(lantern_tesseract::ReadError),
    Engine(lantern_engine::Error),
    Cancelled,
    Encode(String),
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Input(e) => e.fmt(f),
            ToolError::Model(reason) => write!(f, "The model cannot be used: {reason}"),
            ToolError::TesseractModel(e) => write!(f, "The Tesseract model cannot be used: {e}"),
            ToolError::Engine(e) => write!(f, "The model failed to run: {e}"),
            ToolError::Cancelled => write!(f, "Cancelled."),
            ToolError::Encode(reason) => write!(f, "The result could not be saved: {reason}"),
        }
    }
}

impl std::error::Error for ToolError {}

impl From<InputError> for ToolError {
    fn from(e: InputError) -> Self {
        ToolError::Input(e)
    }
}

impl From<lantern_tesseract::ReadError> for ToolError {
    fn from(e: lantern_tesseract::ReadError) -> Self {
        ToolError::TesseractModel(e)
    }
}

impl From<lantern_engine::Error> for ToolError {
    fn from(e: lantern_engine::Error) -> Self {
        match e {
            lantern_engine::Error::Cancelled => ToolError::Cancelled,
            lantern_engine::Error::Model(reason) => ToolError::Model(reason),
            other => ToolError::Engine(other),
        }
    }
}

impl From<image::ImageError> for ToolError {
    fn from(e: image::ImageError) -> Self {
        ToolError::Encode(e.to_string())
    }
}
