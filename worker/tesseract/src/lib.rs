//! Tesseract's LSTM line recogniser, read from a `.traineddata` file and run in plain Rust.
//!
//! The reader takes the `lstm`, `lstm-unicharset`, `lstm-recoder` and `config` components of an int8 model
//! (tessdata_fast, or tessdata_best converted to int8), runs its network with libtesseract's exact
//! integer arithmetic, and decodes the outputs with Tesseract's recoder beam search, without a
//! dictionary. It reads one text line at a time, its work split across the rayon pool (its pixels,
//! its columns, and the cells of each timestep of its wider LSTMs); lines share nothing, so callers
//! may also recognise several at once.
//!
//! ```no_run
//! # fn example(traineddata: &[u8], line: lantern_tesseract::GreyImage) -> Result<(), lantern_tesseract::ReadError> {
//! let recogniser = lantern_tesseract::Recogniser::from_traineddata(traineddata)?;
//! println!("{}", recogniser.recognise(&line).text);
//! # Ok(())
//! # }
//! ```

mod beam;
mod bytes;
mod charset;
mod config;
mod container;
mod decode;
mod error;
mod forward;
mod kernels;
mod lockstep;
mod margin;
mod network;
mod normalise;

pub use charset::Charset;
pub use decode::is_right_to_left;
pub use error::ReadError;
pub use forward::Probabilities;
pub use normalise::GreyImage;

use container::{Component, Container};
use network::Network;

/// `data` with only what the reader uses: the LSTM network, its unicharset and recoder, the config
/// and the version string. Tesseract's published models also carry dictionaries (dawgs), and some
/// the legacy engine's parts: 70 % of the bytes of the 115 models Lantern ships. The result is a
/// `.traineddata` that Tesseract itself reads, without dictionaries.
pub fn lstm_only(data: &[u8]) -> Result<Vec<u8>, ReadError> {
    Container::parse(data)?.lstm_only()
}

/// A model ready to recognise lines.
#[derive(Debug, Clone)]
pub struct Recogniser {
    network: Network,
    charset: Charset,
}

/// One recognised line.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognition {
    /// The text in reading (logical) order, words separated by single spaces.
    pub text: String,
    /// Mean probability of the best non-blank class over the timesteps that have one.
    pub confidence: f32,
    /// Whether the line was read as light text on a dark ground.
    pub inverted: bool,
}

/// Below this mean confidence Tesseract also reads the inverted line and keeps the better reading
/// (its `invert_threshold`): the models expect dark text, and light text reads as garbage.
const INVERT_THRESHOLD: f32 = 0.7;

impl Recogniser {
    /// Reads a `.traineddata` file's LSTM recogniser.
    pub fn from_traineddata(data: &[u8]) -> Result<Recogniser, ReadError> {
        let container = Container::parse(data)?;
        let network = Network::parse(container.required(Component::Lstm)?)?;
        let mut charset = Charset::parse(
            container.required(Component::LstmUnicharset)?,
            container.required(Component::LstmRecoder)?,
            network.output_classes(),
            network.null_char,
        )?;
        if let Some(config) = container.component(Component::Config) {
            let config = String::from_utf8_lossy(config.0);
            charset.apply_filter(&config::character_filter(&config));
        }
        Ok(Recogniser { network, charset })
    }

    /// The height, in pixels, that lines are scaled to.
    pub fn input_height(&self) -> usize {
        self.network.input_height
    }

    /// The network's description in Tesseract's spec language.
    pub fn spec(&self) -> &str {
        &self.network.spec
    }

    pub fn charset(&self) -> &Charset {
        &self.charset
    }

    /// Recognises one text line, cropped with a few pixels of margin around the ink (the models
    /// were trained that way: a tight crop read far worse than a 4-pixel margin).
    pub fn recognise(&self, line: &GreyImage) -> Recognition {
        let scaled = line.scaled_to_height(self.network.input_height);
        let upright = self.run(&scaled);
        let mut recognition = decode::recognition(&upright, &self.charset, self.network.null_char, false);
        if recognition.confidence < INVERT_THRESHOLD {
            let inverted = self.run(&scaled.inverted());
            let inverted = decode::recognition(&inverted, &self.charset, self.network.null_char, true);
            if inverted.confidence > recognition.confidence {
                recognition = inverted;
            }
        }
        recognition
    }

    /// Recognises one text line as a text detector cut it out, whatever its margin: the line is
    /// cut to its ink and given the margin Tesseract trained with (see `margin`), then read as
    /// `recognise` reads it, the inverted retry included.
    pub fn recognise_detected(&self, line: &GreyImage) -> Recognition {
        self.recognise(&margin::with_trained_margin(line, self.network.input_height))
    }

    /// The network's output for the line as it is, without the inverted retry: for decoders of
    /// one's own and for checking the network against Tesseract's.
    pub fn probabilities(&self, line: &GreyImage) -> Probabilities {
        self.run(&line.scaled_to_height(self.network.input_height))
    }

    fn run(&self, scaled: &GreyImage) -> Probabilities {
        // Tesseract refuses lines narrower or lower than one max-pool: there is nothing to read.
        if scaled.width < self.network.pool_x || scaled.height < self.network.pool_y {
            return Probabilities { timesteps: 0, classes: self.network.output_classes(), values: Vec::new() };
        }
        forward::forward(&self.network, &normalise::network_input(scaled))
    }
}
