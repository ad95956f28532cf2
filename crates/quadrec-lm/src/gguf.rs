//! Native reader for GGUF v3 files (the llama.cpp model format) and dequantisation of the
//! tensor types found in the pinned SmolLM2 file: F32, F16, Q8_0 and Q4_1.
//!
//! Layout (all little endian), per <https://github.com/ggml-org/ggml/blob/master/docs/gguf.md>:
//! `"GGUF"`, `u32 version`, `u64 n_tensors`, `u64 n_kv`, then `n_kv` metadata entries
//! (`string key`, `u32 type`, value), then `n_tensors` tensor infos (`string name`,
//! `u32 n_dims`, `u64 dims[n_dims]` innermost first, `u32 ggml_type`, `u64 offset`), padding up
//! to `general.alignment` (default 32), then the tensor data; each offset is relative to the
//! start of the data section and is itself aligned. Strings are `u64 len` + UTF-8 bytes.
//!
//! Dimensions are stored innermost first (`ne0` = contiguous). A 2-D tensor with
//! `dims = [ne0, ne1]` is therefore a row-major `[ne1, ne0]` matrix, i.e. PyTorch's
//! `[out_features, in_features]` for a linear weight.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use half::f16;

/// Errors of the GGUF reader; each names the file and the byte offset or field concerned.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be read.
    #[error("{path}: cannot read GGUF file: {source}")]
    Io {
        /// File concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The bytes do not follow the format.
    #[error("{path}: malformed GGUF at byte {offset}: {msg}")]
    Malformed {
        /// File concerned.
        path: PathBuf,
        /// Byte offset where parsing failed.
        offset: usize,
        /// What was wrong.
        msg: String,
    },
    /// A metadata key the caller needs is absent or has another type.
    #[error("{path}: metadata key `{key}`: {msg}")]
    Metadata {
        /// File concerned.
        path: PathBuf,
        /// Metadata key.
        key: String,
        /// What was wrong.
        msg: String,
    },
    /// A tensor is absent, has an unexpected shape, or a type we cannot dequantise.
    #[error("{path}: tensor `{name}`: {msg}")]
    Tensor {
        /// File concerned.
        path: PathBuf,
        /// Tensor name.
        name: String,
        /// What was wrong.
        msg: String,
    },
}

/// One metadata value. Arrays keep their element type implicitly in the variants they hold.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// `u8` (type 0).
    U8(u8),
    /// `i8` (type 1).
    I8(i8),
    /// `u16` (type 2).
    U16(u16),
    /// `i16` (type 3).
    I16(i16),
    /// `u32` (type 4).
    U32(u32),
    /// `i32` (type 5).
    I32(i32),
    /// `f32` (type 6).
    F32(f32),
    /// `bool` (type 7), one byte.
    Bool(bool),
    /// UTF-8 string (type 8).
    String(String),
    /// Array (type 9) of any element type, arrays of arrays included.
    Array(Vec<MetaValue>),
    /// `u64` (type 10).
    U64(u64),
    /// `i64` (type 11).
    I64(i64),
    /// `f64` (type 12).
    F64(f64),
}

impl MetaValue {
    /// The value as an unsigned integer, if it is any non-negative integer type.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v as u64),
            MetaValue::U16(v) => Some(v as u64),
            MetaValue::U32(v) => Some(v as u64),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) if v >= 0 => Some(v as u64),
            MetaValue::I16(v) if v >= 0 => Some(v as u64),
            MetaValue::I32(v) if v >= 0 => Some(v as u64),
            MetaValue::I64(v) if v >= 0 => Some(v as u64),
            _ => None,
        }
    }
    /// The value as a float, if it is a float type.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v as f64),
            MetaValue::F64(v) => Some(v),
            _ => None,
        }
    }
    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }
    /// The value as an array.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// ggml tensor element types we know the block layout of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// Blocks of 32: `f16 d, f16 m, u8 qs[16]`; `x = q * d + m` with 4-bit `q`.
    Q4_1,
    /// Blocks of 32: `f16 d, i8 qs[32]`; `x = q * d`.
    Q8_0,
}

impl GgmlType {
    fn from_id(id: u32) -> Option<Self> {
        match id {
            0 => Some(Self::F32),
            1 => Some(Self::F16),
            3 => Some(Self::Q4_1),
            8 => Some(Self::Q8_0),
            _ => None,
        }
    }
    /// Elements per block and bytes per block.
    pub fn block(self) -> (usize, usize) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 => (1, 2),
            Self::Q4_1 => (32, 20),
            Self::Q8_0 => (32, 34),
        }
    }
}

/// Where one tensor lives in the file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, innermost (contiguous) first, as stored in the file.
    pub dims: Vec<u64>,
    /// Raw ggml type id.
    pub type_id: u32,
    /// Decoded type, `None` for types this reader cannot dequantise.
    pub ggml_type: Option<GgmlType>,
    /// Absolute byte offset of the data in the file.
    pub abs_offset: usize,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> usize {
        self.dims.iter().product::<u64>() as usize
    }
    /// Row-major shape (outermost first): the reverse of [`TensorInfo::dims`].
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

/// A parsed GGUF file held in memory.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    bytes: Vec<u8>,
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata, sorted by key.
    pub metadata: BTreeMap<String, MetaValue>,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Data alignment (`general.alignment`, default 32).
    pub alignment: usize,
}

struct Cursor<'a> {
    path: &'a Path,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, msg: impl Into<String>) -> GgufError {
        GgufError::Malformed { path: self.path.to_path_buf(), offset: self.pos, msg: msg.into() }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], GgufError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(end) => {
                let s = &self.b[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(self.err(format!("unexpected end of file reading {n} bytes"))),
        }
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }
    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn len(&mut self, what: &str) -> Result<usize, GgufError> {
        let at = self.pos;
        let n = self.u64()?;
        // Any length beyond the file size is corrupt; refusing it early avoids huge allocations.
        if n > self.b.len() as u64 {
            self.pos = at;
            return Err(self.err(format!("{what} length {n} exceeds the file size")));
        }
        Ok(n as usize)
    }
    fn string(&mut self) -> Result<String, GgufError> {
        let n = self.len("string")?;
        let at = self.pos;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|e| GgufError::Malformed {
            path: self.path.to_path_buf(),
            offset: at,
            msg: format!("invalid UTF-8 string: {e}"),
        })
    }
    fn value(&mut self, ty: u32, depth: usize) -> Result<MetaValue, GgufError> {
        Ok(match ty {
            0 => MetaValue::U8(self.arr::<1>()?[0]),
            1 => MetaValue::I8(self.arr::<1>()?[0] as i8),
            2 => MetaValue::U16(u16::from_le_bytes(self.arr()?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.arr()?)),
            4 => MetaValue::U32(self.u32()?),
            5 => MetaValue::I32(i32::from_le_bytes(self.arr()?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.arr()?)),
            7 => match self.arr::<1>()?[0] {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                v => return Err(self.err(format!("bool value {v} is neither 0 nor 1"))),
            },
            8 => MetaValue::String(self.string()?),
            9 => {
                if depth > 8 {
                    return Err(self.err("arrays nested deeper than 8 levels"));
                }
                let et = self.u32()?;
                let n = self.len("array")?;
                let mut v = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    v.push(self.value(et, depth + 1)?);
                }
                MetaValue::Array(v)
            }
            10 => MetaValue::U64(self.u64()?),
            11 => MetaValue::I64(i64::from_le_bytes(self.arr()?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.arr()?)),
            t => return Err(self.err(format!("unknown metadata value type {t}"))),
        })
    }
}

impl GgufFile {
    /// Read and parse a GGUF file.
    pub fn open(path: &Path) -> Result<Self, GgufError> {
        let bytes = std::fs::read(path)
            .map_err(|source| GgufError::Io { path: path.to_path_buf(), source })?;
        Self::from_bytes(path, bytes)
    }

    /// Parse GGUF bytes; `path` is only used in error messages.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, GgufError> {
        let mut c = Cursor { path, b: &bytes, pos: 0 };
        if c.take(4)? != b"GGUF" {
            c.pos = 0;
            return Err(c.err("missing magic `GGUF`"));
        }
        let version = c.u32()?;
        if !(2..=3).contains(&version) {
            c.pos -= 4;
            return Err(c.err(format!("unsupported version {version} (expected 2 or 3)")));
        }
        let n_tensors = c.len("tensor count")?;
        let n_kv = c.len("metadata count")?;
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = c.string()?;
            let ty = c.u32()?;
            let v = c.value(ty, 0)?;
            if metadata.insert(key.clone(), v).is_some() {
                return Err(c.err(format!("duplicate metadata key `{key}`")));
            }
        }
        let alignment = match metadata.get("general.alignment") {
            None => 32,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a as usize,
                _ => return Err(c.err(format!("general.alignment {v:?} is not a power of two"))),
            },
        };
        let mut infos = Vec::with_capacity(n_tensors.min(1 << 16));
        for _ in 0..n_tensors {
            let name = c.string()?;
            let nd = c.u32()? as usize;
            if nd == 0 || nd > 4 {
                return Err(c.err(format!("tensor `{name}` has {nd} dimensions (expected 1..=4)")));
            }
            let mut dims = Vec::with_capacity(nd);
            for _ in 0..nd {
                dims.push(c.u64()?);
            }
            let type_id = c.u32()?;
            let off = c.u64()?;
            infos.push((name, dims, type_id, off));
        }
        let data_start = c.pos.div_ceil(alignment) * alignment;
        let mut tensors = Vec::with_capacity(infos.len());
        for (name, dims, type_id, off) in infos {
            let ggml_type = GgmlType::from_id(type_id);
            let malformed = |msg: String| GgufError::Tensor {
                path: path.to_path_buf(),
                name: name.clone(),
                msg,
            };
            if !(off as usize).is_multiple_of(alignment) {
                return Err(malformed(format!("offset {off} is not aligned to {alignment}")));
            }
            let abs_offset = data_start + off as usize;
            let n: u64 = dims
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d))
                .ok_or_else(|| malformed("element count overflows".into()))?;
            if let Some(t) = ggml_type {
                let (be, bb) = t.block();
                if !(dims[0] as usize).is_multiple_of(be) {
                    return Err(malformed(format!(
                        "row length {} is not a multiple of the block size {be}",
                        dims[0]
                    )));
                }
                let nbytes = n as usize / be * bb;
                if abs_offset + nbytes > bytes.len() {
                    return Err(malformed(format!(
                        "data [{abs_offset}, {}) runs past the end of the file ({} bytes)",
                        abs_offset + nbytes,
                        bytes.len()
                    )));
                }
            }
            tensors.push(TensorInfo { name, dims, type_id, ggml_type, abs_offset });
        }
        Ok(GgufFile { path: path.to_path_buf(), bytes, version, metadata, tensors, alignment })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn meta_err(&self, key: &str, msg: &str) -> GgufError {
        GgufError::Metadata { path: self.path.clone(), key: key.to_string(), msg: msg.to_string() }
    }

    /// A metadata value, or an error naming the key.
    pub fn meta(&self, key: &str) -> Result<&MetaValue, GgufError> {
        self.metadata.get(key).ok_or_else(|| self.meta_err(key, "missing"))
    }
    /// An integer metadata value.
    pub fn meta_u64(&self, key: &str) -> Result<u64, GgufError> {
        self.meta(key)?.as_u64().ok_or_else(|| self.meta_err(key, "not a non-negative integer"))
    }
    /// A float metadata value.
    pub fn meta_f64(&self, key: &str) -> Result<f64, GgufError> {
        self.meta(key)?.as_f64().ok_or_else(|| self.meta_err(key, "not a float"))
    }
    /// A string metadata value.
    pub fn meta_str(&self, key: &str) -> Result<&str, GgufError> {
        self.meta(key)?.as_str().ok_or_else(|| self.meta_err(key, "not a string"))
    }
    /// A string-array metadata value.
    pub fn meta_strings(&self, key: &str) -> Result<Vec<&str>, GgufError> {
        let a = self.meta(key)?.as_array().ok_or_else(|| self.meta_err(key, "not an array"))?;
        a.iter()
            .map(|v| v.as_str().ok_or_else(|| self.meta_err(key, "array element is not a string")))
            .collect()
    }
    /// An integer-array metadata value.
    pub fn meta_ints(&self, key: &str) -> Result<Vec<i64>, GgufError> {
        let a = self.meta(key)?.as_array().ok_or_else(|| self.meta_err(key, "not an array"))?;
        a.iter()
            .map(|v| match *v {
                MetaValue::I32(x) => Ok(x as i64),
                MetaValue::I64(x) => Ok(x),
                _ => v
                    .as_u64()
                    .map(|x| x as i64)
                    .ok_or_else(|| self.meta_err(key, "array element is not an integer")),
            })
            .collect()
    }

    /// The info of a tensor by name.
    pub fn tensor_info(&self, name: &str) -> Result<&TensorInfo, GgufError> {
        self.tensors.iter().find(|t| t.name == name).ok_or_else(|| GgufError::Tensor {
            path: self.path.clone(),
            name: name.to_string(),
            msg: "missing".into(),
        })
    }

    /// Dequantise a tensor to f32, row-major, with its row-major shape (outermost first).
    pub fn dequantize(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), GgufError> {
        let info = self.tensor_info(name)?;
        let ty = info.ggml_type.ok_or_else(|| GgufError::Tensor {
            path: self.path.clone(),
            name: name.to_string(),
            msg: format!("ggml type {} is not supported (F32, F16, Q4_1, Q8_0 are)", info.type_id),
        })?;
        let n = info.n_elements();
        let (be, bb) = ty.block();
        let raw = &self.bytes[info.abs_offset..info.abs_offset + n / be * bb];
        Ok((dequantize(ty, raw, n), info.shape()))
    }

    /// Dequantise a tensor and check its row-major shape.
    pub fn dequantize_shaped(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, GgufError> {
        let (v, s) = self.dequantize(name)?;
        if s != shape {
            return Err(GgufError::Tensor {
                path: self.path.clone(),
                name: name.to_string(),
                msg: format!("shape {s:?}, expected {shape:?}"),
            });
        }
        Ok(v)
    }
}

/// Dequantise `n` elements of type `ty` from `raw` (exactly `n / block * block_bytes` bytes).
pub fn dequantize(ty: GgmlType, raw: &[u8], n: usize) -> Vec<f32> {
    let mut out = vec![0f32; n];
    match ty {
        GgmlType::F32 => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
                *o = f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        GgmlType::Q8_0 => {
            for (o, blk) in out.chunks_exact_mut(32).zip(raw.chunks_exact(34)) {
                let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                for (x, &q) in o.iter_mut().zip(&blk[2..34]) {
                    *x = (q as i8) as f32 * d;
                }
            }
        }
        GgmlType::Q4_1 => {
            // Element j (< 16) is the low nibble of qs[j], element j + 16 its high nibble.
            for (o, blk) in out.chunks_exact_mut(32).zip(raw.chunks_exact(20)) {
                let d = f16::from_le_bytes([blk[0], blk[1]]).to_f32();
                let m = f16::from_le_bytes([blk[2], blk[3]]).to_f32();
                for (j, &q) in blk[4..20].iter().enumerate() {
                    o[j] = (q & 0x0F) as f32 * d + m;
                    o[j + 16] = (q >> 4) as f32 * d + m;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_str(b: &mut Vec<u8>, s: &str) {
        b.extend_from_slice(&(s.len() as u64).to_le_bytes());
        b.extend_from_slice(s.as_bytes());
    }

    /// Hand-built Q4_1 block: d = 0.5, m = -1, q_j = j % 16 in the low nibble and 15 - j % 16 in
    /// the high one, so x_j = 0.5 * j - 1 and x_{j+16} = 0.5 * (15 - j) - 1.
    fn q4_1_block() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&f16::from_f32(0.5).to_le_bytes());
        b.extend_from_slice(&f16::from_f32(-1.0).to_le_bytes());
        for j in 0..16u8 {
            b.push(j | ((15 - j) << 4));
        }
        b
    }

    #[test]
    fn q4_1_matches_formula() {
        let v = dequantize(GgmlType::Q4_1, &q4_1_block(), 32);
        for j in 0..16 {
            assert_eq!(v[j], 0.5 * j as f32 - 1.0);
            assert_eq!(v[j + 16], 0.5 * (15 - j) as f32 - 1.0);
        }
    }

    #[test]
    fn q8_0_matches_formula() {
        // d = 0.25, q_j = j - 16 (covers negatives): x_j = 0.25 * (j - 16).
        let mut b = f16::from_f32(0.25).to_le_bytes().to_vec();
        b.extend((0..32).map(|j| (j as i8 - 16) as u8));
        let v = dequantize(GgmlType::Q8_0, &b, 32);
        for j in 0..32 {
            assert_eq!(v[j], 0.25 * (j as f32 - 16.0));
        }
    }

    #[test]
    fn f16_and_f32_roundtrip() {
        let xs = [0.0f32, 1.5, -2.25, 65504.0];
        let b16: Vec<u8> = xs.iter().flat_map(|&x| f16::from_f32(x).to_le_bytes()).collect();
        assert_eq!(dequantize(GgmlType::F16, &b16, 4), xs);
        let b32: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(dequantize(GgmlType::F32, &b32, 4), xs);
    }

    /// A complete tiny GGUF v3 file: metadata of several types (an array of strings, a nested
    /// array, a custom alignment of 64) and two tensors (Q4_1 [2 rows x 32] and F32 [3]).
    fn tiny_file() -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes()); // tensors
        b.extend_from_slice(&5u64.to_le_bytes()); // kv
        put_str(&mut b, "general.alignment");
        b.extend_from_slice(&4u32.to_le_bytes());
        b.extend_from_slice(&64u32.to_le_bytes());
        put_str(&mut b, "a.float");
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&1e-5f32.to_le_bytes());
        put_str(&mut b, "a.strings");
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&8u32.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        put_str(&mut b, "Ġ t");
        put_str(&mut b, "<|im_end|>");
        put_str(&mut b, "a.nested");
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&9u32.to_le_bytes());
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(&5u32.to_le_bytes()); // inner: i32 array
        b.extend_from_slice(&2u64.to_le_bytes());
        b.extend_from_slice(&(-3i32).to_le_bytes());
        b.extend_from_slice(&7i32.to_le_bytes());
        put_str(&mut b, "a.flag");
        b.extend_from_slice(&7u32.to_le_bytes());
        b.push(1);
        // tensor infos
        put_str(&mut b, "w");
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&32u64.to_le_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        put_str(&mut b, "n");
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&3u64.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&64u64.to_le_bytes()); // 40 bytes of Q4_1, padded to 64
        while !b.len().is_multiple_of(64) {
            b.push(0);
        }
        b.extend(q4_1_block());
        b.extend(q4_1_block());
        b.resize(b.len() + 24, 0);
        for x in [1.0f32, 2.0, 3.0] {
            b.extend_from_slice(&x.to_le_bytes());
        }
        b
    }

    #[test]
    fn parses_tiny_file() {
        let f = GgufFile::from_bytes(Path::new("tiny.gguf"), tiny_file()).unwrap();
        assert_eq!(f.version, 3);
        assert_eq!(f.alignment, 64);
        assert_eq!(f.meta_f64("a.float").unwrap() as f32, 1e-5);
        assert_eq!(f.meta_strings("a.strings").unwrap(), vec!["Ġ t", "<|im_end|>"]);
        assert_eq!(f.meta("a.flag").unwrap(), &MetaValue::Bool(true));
        assert_eq!(
            f.meta("a.nested").unwrap(),
            &MetaValue::Array(vec![MetaValue::Array(vec![MetaValue::I32(-3), MetaValue::I32(7)])])
        );
        let (w, shape) = f.dequantize("w").unwrap();
        assert_eq!(shape, vec![2, 32]);
        assert_eq!(w[1], -0.5);
        assert_eq!(w[32 + 16], 0.5 * 15.0 - 1.0);
        assert_eq!(f.dequantize_shaped("n", &[3]).unwrap(), vec![1.0, 2.0, 3.0]);
        assert!(f.dequantize_shaped("n", &[4]).is_err());
        let e = f.dequantize("missing").unwrap_err().to_string();
        assert!(e.contains("tiny.gguf") && e.contains("missing"), "{e}");
    }

    #[test]
    fn rejects_corrupt_files() {
        let mut bad = tiny_file();
        bad[0] = b'X';
        assert!(
            GgufFile::from_bytes(Path::new("x"), bad).unwrap_err().to_string().contains("magic")
        );
        let full = tiny_file();
        // Every truncation inside the header must fail cleanly, never panic.
        for cut in [3, 10, 30, 60, 120, 200] {
            let r = GgufFile::from_bytes(Path::new("x"), full[..cut].to_vec());
            assert!(r.is_err(), "cut at {cut} parsed");
        }
        // Tensor data past the end of the file.
        let r = GgufFile::from_bytes(Path::new("x"), full[..full.len() - 4].to_vec());
        assert!(r.unwrap_err().to_string().contains("past the end"));
    }
}
