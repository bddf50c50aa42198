//! Lantern's tools: image in, image or text out, over the engine. Nothing here knows of browsers.

pub mod cartoonify;
pub mod encode;
mod error;
pub mod image_to_text;
pub mod input;
pub mod remove_background;
mod tensor;
pub mod text_formats;

pub use error::ToolError;
