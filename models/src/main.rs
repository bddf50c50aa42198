//! `lantern-models`: lists, fetches and publishes the models in the manifest.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};
use lantern_models::{Cache, Entry, Fetcher, Manifest};

#[derive(Parser)]
#[command(version, about = "Fetches, verifies and publishes the models behind Lantern's tools")]
struct Cli {
    /// Manifest to read instead of the one beside this crate and its `local.toml`.
    #[arg(long, global = true)]
    manifest: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints every model and asset with its source, size and licence.
    List,
    /// Downloads (or copies from local files) what is missing from the cache, verifying every
    /// file against the manifest.
    Fetch {
        /// Only these ids (comma-separated); a model's dictionary comes with it.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Also copy the files here and write `index.json` describing them for the site.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let manifest = match &cli.manifest {
        Some(path) => Manifest::load(path)?,
        None => Manifest::load_default()?,
    };
    match cli.command {
        Command::List => list(&manifest),
        Command::Fetch { only, out } => fetch(&manifest.select(&only)?, out)?,
    }
    Ok(())
}

fn list(manifest: &Manifest) {
    println!("{:<20} {:<18} {:<42} {:>9}  licence", "id", "tool", "source", "size");
    let row = |entry: &Entry, tool: &str| {
        println!(
            "{:<20} {tool:<18} {:<42} {:>9}  {}",
            entry.id,
            entry.source.to_string(),
            human_size(entry.size),
            entry.licence
        );
    };
    for model in &manifest.models {
        row(&model.entry, model.tool.name());
    }
    for asset in &manifest.assets {
        row(asset, "asset");
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000 { format!("{:.1} MB", bytes as f64 / 1e6) } else { format!("{:.1} kB", bytes as f64 / 1e3) }
}

fn fetch(manifest: &Manifest, out: Option<PathBuf>) -> Result<()> {
    let started = Instant::now();
    let mut fetcher = Fetcher::new(Cache::from_env());
    eprintln!("cache: {}", fetcher.cache().root().display());
    for entry in manifest.entries() {
        let path = fetcher.ensure(entry)?;
        eprintln!("ok {:<20} {:>10} bytes  {}", entry.id, entry.size, path.display());
    }
    if let Some(out) = out {
        lantern_models::publish(manifest, &mut fetcher, &out)?;
        eprintln!("published {} files and index.json to {}", manifest.entries().count(), out.display());
    }
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
