//! One open GGUF file: header and metadata parsed by candle's `gguf_file::Content`,
//! tensors read and dequantised by candle's `QTensor` into f32 `ndarray`s.
//!
//! Dequantisation runs in row chunks of about `CHUNK_VALUES` (65536) values, each written
//! straight to its final rows, so that besides the result only the tensor's quantised
//! bytes and one small chunk are in memory (the 49152 x 576 embedding of SmolLM2-135M is
//! 113 MB in f32; a whole-tensor `dequantize` would hold it twice).

use super::rope_order;
use crate::error::{Error, Result};
use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Storage};
use ndarray::{Array1, Array2};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The four bytes every GGUF file starts with.
pub const MAGIC: [u8; 4] = *b"GGUF";

/// Values per dequantisation chunk (256 KiB of f32: stays in cache, small next to any
/// real tensor).
const CHUNK_VALUES: usize = 1 << 16;

/// True when the file at `path` starts with the GGUF magic. Errors: the file cannot be
/// opened or read.
pub fn has_gguf_magic(path: &Path) -> Result<bool> {
    let mut head = Vec::with_capacity(4);
    File::open(path)
        .and_then(|f| f.take(4).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    Ok(head == MAGIC)
}

/// How the rows of a stored matrix map to the rows of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOrder {
    /// Row `r` stays row `r`.
    Stored,
    /// A q or k projection in llama.cpp's interleaved RoPE order with heads of this
    /// width: rows are put back in Hugging Face order (see `rope_order`).
    RopeInterleaved {
        /// Head width (even).
        head_dim: usize,
    },
}

impl RowOrder {
    fn target(self, row: usize) -> usize {
        match self {
            RowOrder::Stored => row,
            RowOrder::RopeInterleaved { head_dim } => rope_order::hf_row(row, head_dim),
        }
    }
}

/// A GGUF file (any version candle reads: 1 to 3) with its header parsed. Tensor reads
/// open the file afresh, so they take `&self` and may run in parallel.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    /// File length in bytes when opened.
    len: u64,
}

impl GgufFile {
    /// Opens `path` and parses its header, metadata and tensor directory.
    ///
    /// Errors: unreadable file, wrong magic, or a malformed or truncated header (the
    /// message names the file and the reason; unsupported tensor types are reported here,
    /// as candle rejects them while reading the directory).
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        if !has_gguf_magic(path)? {
            return Err(Error::input(
                &name,
                "magic",
                "not a GGUF file (it does not start with the bytes \"GGUF\"); a checkpoint \
                 is a directory (config.json + safetensors) or a .gguf file",
            ));
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let content = Content::read(&mut BufReader::new(file)).map_err(|e| {
            Error::input(
                &name,
                "header",
                format!("not a readable GGUF file (truncated or malformed): {e}"),
            )
        })?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            content,
            len,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parsed header: metadata (`content().metadata`) and tensor directory.
    pub fn content(&self) -> &Content {
        &self.content
    }

    /// Names of all tensors, sorted.
    pub fn tensor_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .content
            .tensor_infos
            .keys()
            .map(String::as_str)
            .collect();
        v.sort_unstable();
        v
    }

    /// True when the file holds tensor `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// Storage type of tensor `name`, if present.
    pub fn dtype(&self, name: &str) -> Option<GgmlDType> {
        self.content.tensor_infos.get(name).map(|t| t.ggml_dtype)
    }

    fn err(&self, key: &str, msg: impl Into<String>) -> Error {
        Error::input(self.path.display().to_string(), key, msg)
    }

    /// Checks that tensor `name` exists with shape `expected` (row-major: `[out, in]`
    /// for a matrix; GGUF lists dimensions the other way round, `ne0` = in-features) and
    /// that its data lies inside the file, without reading it.
    ///
    /// Errors (naming file and tensor): missing, shape mismatch, data past the end.
    pub fn check(&self, name: &str, expected: &[usize]) -> Result<()> {
        let Some(info) = self.content.tensor_infos.get(name) else {
            return Err(self.err(
                name,
                format!("missing tensor (expected shape {expected:?})"),
            ));
        };
        let found = info.shape.dims();
        if found != expected {
            let ne = |d: &[usize]| d.iter().rev().copied().collect::<Vec<_>>();
            return Err(self.err(
                name,
                format!(
                    "shape mismatch: expected {expected:?}, found {found:?} (GGUF ne order: \
                     expected {:?}, found {:?})",
                    ne(expected),
                    ne(found)
                ),
            ));
        }
        let dtype = info.ggml_dtype;
        let bytes = (info.shape.elem_count() / dtype.block_size() * dtype.type_size()) as u64;
        let start = self.content.tensor_data_offset.saturating_add(info.offset);
        if start.saturating_add(bytes) > self.len {
            return Err(self.err(
                name,
                format!(
                    "cannot read tensor data: {bytes} bytes of {dtype:?} at offset {start} run \
                     past the end of the file ({} bytes; truncated?)",
                    self.len
                ),
            ));
        }
        Ok(())
    }

    /// [`GgufFile::check`]s and reads the quantised tensor.
    fn quantised(&self, name: &str, expected: &[usize]) -> Result<QTensor> {
        self.check(name, expected)?;
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        self.content
            .tensor(&mut file, name, &Device::Cpu)
            .map_err(|e| self.err(name, format!("cannot read tensor data: {e}")))
    }

    /// Reads matrix `name` of shape `[out, in]` = `shape` as f32, rows reordered by
    /// `order`.
    ///
    /// Errors (naming file and tensor): missing, shape mismatch, data beyond the end of
    /// the file, non-finite values.
    pub fn read_matrix(
        &self,
        name: &str,
        shape: [usize; 2],
        order: RowOrder,
    ) -> Result<Array2<f32>> {
        let q = self.quantised(name, &shape)?;
        let mut out = Array2::<f32>::zeros(shape);
        let [rows, cols] = shape;
        self.dequantise_rows(name, &q, rows, cols, |r, src| {
            // A freshly allocated standard-layout array: every row is contiguous.
            if let Some(dst) = out.row_mut(order.target(r)).as_slice_mut() {
                dst.copy_from_slice(src);
            }
        })?;
        self.check_finite(name, out.view())?;
        Ok(out)
    }

    /// Reads vector `name` of length `len` as f32. Errors as [`GgufFile::read_matrix`].
    pub fn read_vector(&self, name: &str, len: usize) -> Result<Array1<f32>> {
        let q = self.quantised(name, &[len])?;
        let mut out = Array1::<f32>::zeros(len);
        self.dequantise_rows(name, &q, 1, len, |_, src| {
            if let Some(dst) = out.as_slice_mut() {
                dst.copy_from_slice(src);
            }
        })?;
        self.check_finite(name, out.view().insert_axis(ndarray::Axis(0)))?;
        Ok(out)
    }

    /// Dequantises `q` (viewed as `rows x cols`) chunk by chunk through candle's
    /// `QTensor::dequantize`, handing each row to `put(row, values)`.
    fn dequantise_rows(
        &self,
        name: &str,
        q: &QTensor,
        rows: usize,
        cols: usize,
        mut put: impl FnMut(usize, &[f32]),
    ) -> Result<()> {
        let cerr = |e: candle_core::Error| self.err(name, format!("cannot dequantise: {e}"));
        let dtype = q.dtype();
        // `Content::tensor` has checked that `cols` is a whole number of blocks.
        let row_bytes = cols / dtype.block_size() * dtype.type_size();
        let bytes = q.data().map_err(cerr)?;
        if bytes.len() != rows * row_bytes {
            return Err(self.err(
                name,
                format!(
                    "{} bytes of {dtype:?} data for {rows} x {cols} values (expected {})",
                    bytes.len(),
                    rows * row_bytes
                ),
            ));
        }
        let chunk_rows = (CHUNK_VALUES / cols).max(1);
        for r0 in (0..rows).step_by(chunk_rows) {
            let n = chunk_rows.min(rows - r0);
            // Whole rows are whole blocks, and `bytes` is the block array itself, so the
            // sub-slice keeps the block alignment candle requires.
            let part = &bytes[r0 * row_bytes..(r0 + n) * row_bytes];
            let storage =
                QStorage::from_data(Cow::Borrowed(part), &Device::Cpu, dtype).map_err(cerr)?;
            let chunk = QTensor::new(storage, (n, cols))
                .and_then(|t| t.dequantize(&Device::Cpu))
                .map_err(cerr)?;
            let (storage, layout) = chunk.storage_and_layout();
            let Storage::Cpu(cpu) = &*storage else {
                return Err(self.err(name, "dequantised off the CPU"));
            };
            let values = cpu.as_slice::<f32>().map_err(cerr)?;
            let (start, end) = layout
                .contiguous_offsets()
                .ok_or_else(|| self.err(name, "dequantised chunk is not contiguous"))?;
            for (i, row) in values[start..end].chunks_exact(cols).enumerate() {
                put(r0 + i, row);
            }
        }
        Ok(())
    }

    fn check_finite(&self, name: &str, a: ndarray::ArrayView2<f32>) -> Result<()> {
        match crate::llm::first_non_finite(a) {
            None => Ok(()),
            Some(((r, c), v)) => {
                Err(self.err(name, format!("non-finite value {v} at row {r}, column {c}")))
            }
        }
    }
}
