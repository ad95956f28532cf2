//! sha256 helpers. Hashes are lowercase hex strings everywhere (manifests, fingerprints, ids).

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// sha256 of a byte slice, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// sha256 of a file's contents, streamed, as lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// An incremental hasher for fingerprints built from several labelled parts.
/// Each part is length-prefixed so that ("ab","c") and ("a","bc") differ.
#[derive(Default, Clone)]
pub struct Fingerprint(Sha256);

impl Fingerprint {
    /// A new, empty fingerprint.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add one labelled part.
    pub fn part(mut self, label: &str, value: impl AsRef<[u8]>) -> Self {
        let v = value.as_ref();
        self.0.update((label.len() as u64).to_le_bytes());
        self.0.update(label.as_bytes());
        self.0.update((v.len() as u64).to_le_bytes());
        self.0.update(v);
        self
    }
    /// The lowercase hex digest.
    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // sha256("abc") from FIPS 180-2.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn fingerprint_is_length_prefixed() {
        let a = Fingerprint::new().part("x", "ab").part("y", "c").finish();
        let b = Fingerprint::new().part("x", "a").part("y", "bc").finish();
        assert_ne!(a, b);
    }
}
