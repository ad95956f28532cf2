//! The one place where the backend and device are chosen.
//!
//! Default: Burn's `flex` CPU backend (pure Rust, SIMD, rayon), always compiled. With the crate
//! feature `wgpu`, `BURN_DEVICE=wgpu` selects Burn's wgpu backend (a GPU, or Mesa lavapipe on a
//! CPU-only machine). We never call `Device::default()`: it silently prefers wgpu whenever that
//! feature is compiled in, even with no GPU.

use burn::tensor::Device;

/// Backend selected for training and scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// Burn flex (CPU).
    Flex,
    /// Burn wgpu (needs the `wgpu` feature).
    Wgpu,
}

impl BackendKind {
    /// Name recorded in fit reports.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

/// `BURN_DEVICE` names an unknown or not-compiled backend.
#[derive(Debug, thiserror::Error)]
#[error("BURN_DEVICE={value}: {reason} (valid: {valid})")]
pub struct DeviceError {
    /// The value given.
    pub value: String,
    /// Why it cannot be used.
    pub reason: String,
    /// Values this build accepts.
    pub valid: String,
}

fn valid_values() -> String {
    if cfg!(feature = "wgpu") {
        "flex, wgpu".into()
    } else {
        "flex (rebuild with --features wgpu for wgpu)".into()
    }
}

thread_local! {
    /// Per-thread override set by [`with_backend`] (tests compare backends in one process
    /// without mutating the environment).
    static OVERRIDE: std::cell::Cell<Option<BackendKind>> = const { std::cell::Cell::new(None) };
}

/// Run `f` with `kind` as the backend of every fit started on this thread inside `f`,
/// whatever `BURN_DEVICE` says (scoring uses the device the fit chose).
pub fn with_backend<R>(kind: BackendKind, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<BackendKind>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(kind))));
    f()
}

/// Backend from `BURN_DEVICE` (unset or empty: flex), unless [`with_backend`] overrides it on
/// this thread.
pub fn backend_from_env() -> Result<BackendKind, DeviceError> {
    if let Some(kind) = OVERRIDE.with(|o| o.get()) {
        return Ok(kind);
    }
    let v = std::env::var("BURN_DEVICE").unwrap_or_default();
    parse_backend(&v)
}

/// Parse a `BURN_DEVICE` value.
pub fn parse_backend(v: &str) -> Result<BackendKind, DeviceError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "flex" | "cpu" => Ok(BackendKind::Flex),
        "wgpu" | "vulkan" if cfg!(feature = "wgpu") => Ok(BackendKind::Wgpu),
        "wgpu" | "vulkan" => Err(DeviceError {
            value: v.into(),
            reason: "this build has no wgpu backend".into(),
            valid: valid_values(),
        }),
        _ => Err(DeviceError {
            value: v.into(),
            reason: "unknown backend".into(),
            valid: valid_values(),
        }),
    }
}

/// The inference (non-autodiff) device of a backend.
pub fn device(kind: BackendKind) -> Device {
    match kind {
        BackendKind::Flex => Device::flex(),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        #[cfg(not(feature = "wgpu"))]
        BackendKind::Wgpu => unreachable!("parse_backend rejects wgpu without the feature"),
    }
}

/// Training device (autodiff decorator over [`device`]).
pub fn train_device(kind: BackendKind) -> Device {
    device(kind).autodiff()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_backend_accepts_flex_and_rejects_unknown() {
        assert_eq!(parse_backend("").unwrap(), BackendKind::Flex);
        assert_eq!(parse_backend("FLEX").unwrap(), BackendKind::Flex);
        let e = parse_backend("tpu").unwrap_err().to_string();
        assert!(e.contains("unknown backend") && e.contains("flex"), "{e}");
        #[cfg(not(feature = "wgpu"))]
        assert!(parse_backend("wgpu").is_err());
    }
}
