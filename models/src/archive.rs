//! Reading files out of package archives: wheels (zip), sdists, npm tarballs or crates (tar.gz),
//! and Debian packages (.deb).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use crate::manifest::Location;

/// The bytes of the file at `location` inside the archive at `archive`.
pub fn extract(archive: &Path, location: &Location) -> Result<Vec<u8>> {
    match location {
        Location::File { path } => Ok(read_files(archive, &[path.as_str()])?.remove(0)),
        Location::GzippedFile { path } => {
            let compressed = read_files(archive, &[path.as_str()])?.remove(0);
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(compressed.as_slice())
                .read_to_end(&mut bytes)
                .with_context(|| format!("decompressing `{path}` in {}", archive.display()))?;
            Ok(bytes)
        }
        Location::Chunks { index, resource } => {
            let index_bytes = read_files(archive, &[index.as_str()])?.remove(0);
            let chunks = chunk_paths(&index_bytes, index, resource)?;
            let names: Vec<&str> = chunks.iter().map(String::as_str).collect();
            Ok(read_files(archive, &names)?.concat())
        }
    }
}

/// A resource in a chunk index such as `@imgly/background-removal-data`'s `resources.json`.
#[derive(Deserialize)]
struct ChunkedResource {
    chunks: Vec<Chunk>,
    /// Size of the whole resource, where the index gives it.
    size: Option<u64>,
}

#[derive(Deserialize)]
struct Chunk {
    hash: String,
    /// Start and end of the chunk in the whole resource.
    offsets: [u64; 2],
}

/// Paths of `resource`'s chunks, in order; they lie beside the index.
fn chunk_paths(index_bytes: &[u8], index: &str, resource: &str) -> Result<Vec<String>> {
    let mut resources: HashMap<String, ChunkedResource> =
        serde_json::from_slice(index_bytes).with_context(|| format!("parsing {index}"))?;
    let resource_chunks = resources.remove(resource).with_context(|| format!("{index} lists no `{resource}`"))?;
    let folder = index.rsplit_once('/').map_or("", |(folder, _)| folder);
    let mut end = 0;
    let mut paths = Vec::new();
    for chunk in resource_chunks.chunks {
        // Offsets must tile the resource, or concatenating the chunks would not rebuild it.
        ensure!(chunk.offsets[0] == end, "{index}: `{resource}` chunks are not contiguous at byte {end}");
        end = chunk.offsets[1];
        ensure!(chunk.hash.chars().all(|c| c.is_ascii_alphanumeric()), "{index}: odd chunk name `{}`", chunk.hash);
        paths.push(if folder.is_empty() { chunk.hash } else { format!("{folder}/{}", chunk.hash) });
    }
    if let Some(size) = resource_chunks.size {
        ensure!(size == end, "{index}: `{resource}` is {size} bytes but its chunks end at {end}");
    }
    Ok(paths)
}

/// The contents of each of `names` inside the archive, in the order asked.
fn read_files(archive: &Path, names: &[&str]) -> Result<Vec<Vec<u8>>> {
    let file_name = archive.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    let file = BufReader::new(File::open(archive).with_context(|| format!("opening {}", archive.display()))?);
    let found = if file_name.ends_with(".whl") || file_name.ends_with(".zip") {
        read_zip(file, names)
    } else if file_name.ends_with(".tar.gz") || file_name.ends_with(".tgz") || file_name.ends_with(".crate") {
        read_tar(flate2::read::GzDecoder::new(file), names)
    } else if file_name.ends_with(".deb") {
        read_deb(file, names)
    } else {
        bail!("{}: not a zip or tar.gz archive", archive.display());
    };
    found.with_context(|| format!("reading {}", archive.display()))
}

fn read_zip(file: BufReader<File>, names: &[&str]) -> Result<Vec<Vec<u8>>> {
    let mut zip = zip::ZipArchive::new(file)?;
    names
        .iter()
        .map(|name| {
            let mut member = zip.by_name(name).with_context(|| format!("no `{name}` in the archive"))?;
            let mut bytes = Vec::with_capacity(member.size() as usize);
            member.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .collect()
}

/// The members asked for, from a Debian package's data archive (`data.tar.xz` inside the `.deb`'s
/// ar archive).
fn read_deb(file: BufReader<File>, names: &[&str]) -> Result<Vec<Vec<u8>>> {
    let mut deb = ar::Archive::new(file);
    while let Some(member) = deb.next_entry() {
        let mut member = member?;
        if member.header().identifier() == b"data.tar.xz" {
            let mut tar = Vec::new();
            lzma_rs::xz_decompress(&mut BufReader::new(&mut member), &mut tar).context("unpacking data.tar.xz")?;
            return read_tar(tar.as_slice(), names);
        }
    }
    bail!("no data.tar.xz in the package")
}

/// One pass over a tarball, keeping the members asked for.
fn read_tar(reader: impl Read, names: &[&str]) -> Result<Vec<Vec<u8>>> {
    let mut wanted: HashMap<&str, Option<Vec<u8>>> = names.iter().map(|name| (*name, None)).collect();
    let mut tar = tar::Archive::new(reader);
    for member in tar.entries()? {
        let mut member = member?;
        let path = member.path()?.to_string_lossy().into_owned();
        if let Some(slot) = wanted.get_mut(path.as_str()) {
            let mut bytes = Vec::with_capacity(member.size() as usize);
            member.read_to_end(&mut bytes)?;
            *slot = Some(bytes);
        }
    }
    names
        .iter()
        .map(|name| wanted.get_mut(name).and_then(Option::take).with_context(|| format!("no `{name}` in the archive")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(dir: &Path, members: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join("package-1.0.0.tgz");
        let gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            tar.append_data(&mut header, name, *bytes).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        path
    }

    #[test]
    fn chunked_resource_is_rebuilt_in_index_order() {
        let dir = tempfile::tempdir().unwrap();
        let index =
            br#"{"/models/m": {"chunks": [{"hash": "b2", "offsets": [0, 3]}, {"hash": "a1", "offsets": [3, 5]}]}}"#;
        let archive = tarball(
            dir.path(),
            &[("package/dist/a1", b"de"), ("package/dist/b2", b"abc"), ("package/dist/resources.json", index)],
        );
        let location = Location::Chunks { index: "package/dist/resources.json".into(), resource: "/models/m".into() };
        assert_eq!(extract(&archive, &location).unwrap(), b"abcde");
        let file = Location::File { path: "package/dist/a1".into() };
        assert_eq!(extract(&archive, &file).unwrap(), b"de");
        let missing = Location::File { path: "package/dist/c3".into() };
        assert!(extract(&archive, &missing).is_err());
    }

    #[test]
    fn gzipped_member_is_decompressed() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"network bytes").unwrap();
        let compressed = gz.finish().unwrap();
        let archive = tarball(dir.path(), &[("package/m.traineddata.gz", &compressed), ("package/plain.txt", b"x")]);
        let gzipped = Location::GzippedFile { path: "package/m.traineddata.gz".into() };
        assert_eq!(extract(&archive, &gzipped).unwrap(), b"network bytes");
        let not_gzip = Location::GzippedFile { path: "package/plain.txt".into() };
        let error = format!("{:#}", extract(&archive, &not_gzip).unwrap_err());
        assert!(error.contains("decompressing `package/plain.txt`"), "{error}");
    }

    #[test]
    fn gaps_between_chunks_are_refused() {
        let index = br#"{"/m": {"chunks": [{"hash": "a", "offsets": [0, 3]}, {"hash": "b", "offsets": [4, 5]}]}}"#;
        assert!(chunk_paths(index, "dist/resources.json", "/m").is_err());
    }
}
