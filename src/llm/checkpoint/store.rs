//! Raw tensor access over one `model.safetensors` file or a sharded set listed by
//! `model.safetensors.index.json`, with f32 / f16 / bf16 decoding to f32 and errors that
//! name the file and the tensor; plus the matching writer.

use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// File name of a single-file checkpoint.
pub const SINGLE_FILE: &str = "model.safetensors";
/// File name of the shard index of a sharded checkpoint.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// Element type a checkpoint is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDtype {
    /// 32-bit IEEE float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// bfloat16 (8-bit exponent, 7-bit mantissa).
    BF16,
}

impl StoreDtype {
    fn safetensors(self) -> Dtype {
        match self {
            StoreDtype::F32 => Dtype::F32,
            StoreDtype::F16 => Dtype::F16,
            StoreDtype::BF16 => Dtype::BF16,
        }
    }

    /// Encodes f32 values little-endian in this dtype (round-to-nearest-even).
    pub fn encode(self, values: impl Iterator<Item = f32>) -> Vec<u8> {
        match self {
            StoreDtype::F32 => values.flat_map(f32::to_le_bytes).collect(),
            StoreDtype::F16 => values
                .flat_map(|v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
            StoreDtype::BF16 => values
                .flat_map(|v| half::bf16::from_f32(v).to_le_bytes())
                .collect(),
        }
    }
}

/// A decoded tensor: its shape and row-major f32 values.
#[derive(Debug, Clone)]
pub struct RawTensor {
    /// Shape as stored.
    pub shape: Vec<usize>,
    /// Row-major values converted to f32.
    pub data: Vec<f32>,
}

/// The safetensors files of one checkpoint, held in memory.
pub struct TensorStore {
    /// (path, bytes) per file.
    files: Vec<(PathBuf, Vec<u8>)>,
    /// Tensor name -> index into `files`.
    location: HashMap<String, usize>,
    /// What to name in "missing tensor" errors: the single file or the index.
    listing: PathBuf,
}

impl TensorStore {
    /// Opens `dir/model.safetensors.index.json` if present, else `dir/model.safetensors`.
    pub fn open(dir: &Path) -> Result<Self> {
        let index = dir.join(INDEX_FILE);
        if index.exists() {
            Self::open_sharded(dir, &index)
        } else {
            let single = dir.join(SINGLE_FILE);
            let bytes = std::fs::read(&single).map_err(|e| Error::io(&single, e))?;
            let names = header_names(&single, &bytes)?;
            let location = names.into_iter().map(|n| (n, 0)).collect();
            Ok(TensorStore {
                files: vec![(single.clone(), bytes)],
                location,
                listing: single,
            })
        }
    }

    fn open_sharded(dir: &Path, index: &Path) -> Result<Self> {
        let file = index.display().to_string();
        let text = crate::io_util::read_to_string(index)?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::input(&file, "json", format!("not valid JSON: {e}")))?;
        let map = value
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| {
                Error::input(
                    &file,
                    "weight_map",
                    "missing (an object tensor -> shard file)",
                )
            })?;
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut shard_index: HashMap<String, usize> = HashMap::new();
        let mut location = HashMap::new();
        // Sorted so that the first missing shard reported is deterministic.
        let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
        for (tensor, shard) in sorted {
            let shard = shard.as_str().ok_or_else(|| {
                Error::input(
                    &file,
                    format!("weight_map.{tensor}"),
                    "expected a file name",
                )
            })?;
            if shard.contains('/') || shard.contains('\\') || shard.starts_with('.') {
                return Err(Error::input(
                    &file,
                    format!("weight_map.{tensor}"),
                    format!(
                        "shard {shard:?} must be a plain file name in the checkpoint directory"
                    ),
                ));
            }
            let idx = match shard_index.get(shard) {
                Some(&i) => i,
                None => {
                    let path = dir.join(shard);
                    let bytes = std::fs::read(&path).map_err(|e| {
                        Error::input(
                            &file,
                            format!("weight_map.{tensor}"),
                            format!("shard file {} cannot be read: {e}", path.display()),
                        )
                    })?;
                    header_names(&path, &bytes)?;
                    files.push((path, bytes));
                    shard_index.insert(shard.to_string(), files.len() - 1);
                    files.len() - 1
                }
            };
            location.insert(tensor.clone(), idx);
        }
        Ok(TensorStore {
            files,
            location,
            listing: index.to_path_buf(),
        })
    }

    /// Names of all tensors the checkpoint lists, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.location.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The file that lists the tensors (the single file or the index), for messages.
    pub fn listing(&self) -> &Path {
        &self.listing
    }

    /// True when the checkpoint lists `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.location.contains_key(name)
    }

    /// Decodes tensor `name`, checking that its shape is `expected`.
    pub fn get(&self, name: &str, expected: &[usize]) -> Result<RawTensor> {
        let &idx = self.location.get(name).ok_or_else(|| {
            Error::input(
                self.listing.display().to_string(),
                name,
                format!("missing tensor (expected shape {expected:?})"),
            )
        })?;
        let (path, bytes) = &self.files[idx];
        let file = path.display().to_string();
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::input(&file, "header", format!("not a safetensors file: {e}")))?;
        let view = st.tensor(name).map_err(|_| {
            Error::input(
                &file,
                name,
                format!(
                    "missing tensor: the index lists it in this shard (expected shape {expected:?})"
                ),
            )
        })?;
        if view.shape() != expected {
            return Err(Error::input(
                &file,
                name,
                format!(
                    "shape mismatch: expected {expected:?}, found {:?}",
                    view.shape()
                ),
            ));
        }
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::input(
                    &file,
                    name,
                    format!("unsupported dtype {other:?} (allowed: F32, F16, BF16)"),
                ));
            }
        };
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::input(
                &file,
                name,
                format!("non-finite value {} at flat index {i}", data[i]),
            ));
        }
        Ok(RawTensor {
            shape: view.shape().to_vec(),
            data,
        })
    }
}

fn header_names(path: &Path, bytes: &[u8]) -> Result<Vec<String>> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::input(
            path.display().to_string(),
            "header",
            format!("not a safetensors file: {e}"),
        )
    })?;
    Ok(st.names().into_iter().map(String::from).collect())
}

/// A tensor ready to be written: dtype, shape and encoded bytes.
pub struct EncodedTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl EncodedTensor {
    /// Encodes row-major f32 `values` of `shape` in `dtype`.
    pub fn new(dtype: StoreDtype, shape: Vec<usize>, values: &[f32]) -> Self {
        EncodedTensor {
            dtype: dtype.safetensors(),
            shape,
            bytes: dtype.encode(values.iter().copied()),
        }
    }
}

impl View for &EncodedTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `tensors` (in order) to `dir` as one `model.safetensors` (`shards <= 1`) or as
/// `shards` files `model-0000i-of-0000n.safetensors` plus `model.safetensors.index.json`
/// (tensors are split in order into contiguous groups of near-equal count). Each file is
/// written atomically.
pub fn write_tensors(dir: &Path, tensors: &[(String, EncodedTensor)], shards: usize) -> Result<()> {
    let meta = || Some(HashMap::from([("format".to_string(), "pt".to_string())]));
    let ser = |group: &[(String, EncodedTensor)], path: &Path| -> Result<()> {
        let bytes = safetensors::serialize(group.iter().map(|(n, t)| (n.as_str(), t)), meta())
            .map_err(|e| Error::Other(format!("{}: cannot serialise: {e}", path.display())))?;
        crate::io_util::write_atomic(path, &bytes)
    };
    // A stale file of the other layout would shadow (index) or confuse (single file) the
    // new one: remove it once the new files are in place.
    let remove_stale = |name: &str| -> Result<()> {
        let p = dir.join(name);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&p, e)),
            _ => Ok(()),
        }
    };
    if shards <= 1 {
        ser(tensors, &dir.join(SINGLE_FILE))?;
        return remove_stale(INDEX_FILE);
    }
    let shards = shards.min(tensors.len().max(1));
    let per = tensors.len().div_ceil(shards).max(1);
    let n_files = tensors.len().div_ceil(per);
    let mut weight_map = BTreeMap::new();
    let mut total = 0usize;
    for (i, group) in tensors.chunks(per).enumerate() {
        let name = format!("model-{:05}-of-{:05}.safetensors", i + 1, n_files);
        ser(group, &dir.join(&name))?;
        for (t, enc) in group {
            total += enc.bytes.len();
            weight_map.insert(t.clone(), name.clone());
        }
    }
    let index = serde_json::json!({"metadata": {"total_size": total}, "weight_map": weight_map});
    let text = serde_json::to_string_pretty(&index).unwrap_or_default();
    crate::io_util::write_atomic(&dir.join(INDEX_FILE), text.as_bytes())?;
    remove_stale(SINGLE_FILE)
}
