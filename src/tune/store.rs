//! A training state in one safetensors file, so that a run resumes bit-exactly: the
//! trainable tensors (f32, their PEFT-style names from `Adapters::named`), the AdamW
//! moments of every tensor that has been updated (`optimizer.m.<name>`,
//! `optimizer.v.<name>`, f32), and in the header's string metadata:
//!
//! | key | value |
//! |---|---|
//! | `edgesim.format` | [`STATE_FORMAT`] |
//! | `step` | optimizer steps done (decimal) |
//! | `seed` | the run's seed (decimal) |
//! | `method` | the method's description (`plan::Method::describe`) |
//! | `config` | the run's configuration, JSON text chosen by the caller |
//! | `adamw.lr`, `adamw.beta1`, `adamw.beta2`, `adamw.eps`, `adamw.weight_decay` | hyper-parameters, Rust's shortest round-trip decimal |
//! | `adamw.steps` | [`AdamW::steps`] |
//! | `adamw.tensor_steps` | JSON object: tensor name -> its AdamW step count |
//! | `sha256` | SHA-256 (hex) over every tensor's name, shape and bytes in name order |
//!
//! The checksum turns a corrupted byte anywhere in the tensor data into a clean error
//! instead of a silently different run. [`save_adapters`] writes the trainable tensors
//! alone, with `{"format": "pt"}` metadata like the `adapter_model.safetensors` of
//! Hugging Face PEFT.

use super::adamw::{AdamW, AdamWConfig, Moments};
use crate::error::{Error, Result};
use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};
use safetensors::{Dtype, SafeTensors, View};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Value of the `edgesim.format` metadata key of a training state.
pub const STATE_FORMAT: &str = "edgesim-tune-state-1";
/// Prefix of the AdamW first-moment tensors.
pub const M_PREFIX: &str = "optimizer.m.";
/// Prefix of the AdamW second-moment tensors.
pub const V_PREFIX: &str = "optimizer.v.";

/// The run-level facts saved with a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMeta {
    /// Optimizer steps done.
    pub step: u64,
    /// The run's seed (data order, dropout, initialisation).
    pub seed: u64,
    /// The method's description.
    pub method: String,
    /// The run's configuration (JSON text).
    pub config: String,
}

/// An f32 tensor ready to be written: shape and little-endian bytes in row-major order.
struct F32Tensor {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &F32Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn encode(name: &str, a: &ArrayViewD<'_, f32>) -> (String, F32Tensor) {
    let bytes = a.iter().flat_map(|v| v.to_le_bytes()).collect();
    (
        name.to_string(),
        F32Tensor {
            shape: a.shape().to_vec(),
            bytes,
        },
    )
}

/// SHA-256 over (name, shape, little-endian bytes) of `tensors`, sorted by name.
fn checksum<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize], &'a [u8])>) -> String {
    let mut sorted: Vec<_> = tensors.collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    for (name, shape, bytes) in sorted {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((shape.len() as u64).to_le_bytes());
        for &d in shape {
            h.update((d as u64).to_le_bytes());
        }
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn write(
    path: &Path,
    tensors: &[(String, F32Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let bytes =
        safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), t)), Some(metadata))
            .map_err(|e| Error::Other(format!("{}: cannot serialise: {e}", path.display())))?;
    crate::io_util::write_atomic(path, &bytes)
}

fn names_unique<'a>(path: &Path, names: impl Iterator<Item = &'a String>) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for n in names {
        if n.starts_with(M_PREFIX) || n.starts_with(V_PREFIX) || !seen.insert(n) {
            return Err(Error::Other(format!(
                "{}: tensor name {n} is repeated or uses the reserved optimizer prefix",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Writes the training state (atomically) to `path`: `params` (the trainable tensors),
/// the moments of every tensor in `opt.state` and the metadata of the module doc.
///
/// Errors: a repeated or reserved (`optimizer.`) tensor name, optimizer state for a tensor
/// not in `params` or of another shape, or the write (naming the file).
pub fn save_state(
    path: &Path,
    params: &[(String, ArrayViewD<'_, f32>)],
    opt: &AdamW,
    meta: &StateMeta,
) -> Result<()> {
    names_unique(path, params.iter().map(|(n, _)| n))?;
    let shapes: HashMap<&str, &[usize]> = params
        .iter()
        .map(|(n, a)| (n.as_str(), a.shape()))
        .collect();
    let mut tensors: Vec<(String, F32Tensor)> = params.iter().map(|(n, a)| encode(n, a)).collect();
    let mut tensor_steps = BTreeMap::new();
    for (name, s) in &opt.state {
        match shapes.get(name.as_str()) {
            Some(&shape) if s.m.shape() == shape && s.v.shape() == shape => {}
            _ => {
                return Err(Error::Other(format!(
                    "{}: optimizer state of {name} (shape {:?}) matches no trainable tensor",
                    path.display(),
                    s.m.shape()
                )));
            }
        }
        tensors.push(encode(&format!("{M_PREFIX}{name}"), &s.m.view()));
        tensors.push(encode(&format!("{V_PREFIX}{name}"), &s.v.view()));
        tensor_steps.insert(name.clone(), s.step);
    }
    let sum = checksum(
        tensors
            .iter()
            .map(|(n, t)| (n.as_str(), &t.shape[..], &t.bytes[..])),
    );
    let c = opt.cfg;
    let metadata = HashMap::from([
        ("edgesim.format".to_string(), STATE_FORMAT.to_string()),
        ("step".to_string(), meta.step.to_string()),
        ("seed".to_string(), meta.seed.to_string()),
        ("method".to_string(), meta.method.clone()),
        ("config".to_string(), meta.config.clone()),
        ("adamw.lr".to_string(), format!("{:?}", c.lr)),
        ("adamw.beta1".to_string(), format!("{:?}", c.beta1)),
        ("adamw.beta2".to_string(), format!("{:?}", c.beta2)),
        ("adamw.eps".to_string(), format!("{:?}", c.eps)),
        (
            "adamw.weight_decay".to_string(),
            format!("{:?}", c.weight_decay),
        ),
        ("adamw.steps".to_string(), opt.steps.to_string()),
        (
            "adamw.tensor_steps".to_string(),
            serde_json::to_string(&tensor_steps).unwrap_or_default(),
        ),
        ("sha256".to_string(), sum),
    ]);
    write(path, &tensors, metadata)
}

/// Writes the trainable tensors alone (atomically), as a PEFT-style adapter file.
///
/// Errors: a repeated or reserved tensor name, or the write (naming the file).
pub fn save_adapters(path: &Path, params: &[(String, ArrayViewD<'_, f32>)]) -> Result<()> {
    names_unique(path, params.iter().map(|(n, _)| n))?;
    let tensors: Vec<(String, F32Tensor)> = params.iter().map(|(n, a)| encode(n, a)).collect();
    write(
        path,
        &tensors,
        HashMap::from([("format".to_string(), "pt".to_string())]),
    )
}

/// A parsed, validated state file.
struct Parsed<'a> {
    file: String,
    st: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

impl Parsed<'_> {
    fn key(&self, key: &str) -> Result<&str> {
        self.meta.get(key).map(String::as_str).ok_or_else(|| {
            Error::input(
                &self.file,
                key,
                "missing metadata (not a complete training state)",
            )
        })
    }

    fn parse<T: std::str::FromStr>(&self, key: &str, what: &str) -> Result<T> {
        let v = self.key(key)?;
        v.parse()
            .map_err(|_| Error::input(&self.file, key, format!("{v:?} is not {what}")))
    }

    /// Tensor `name` as f32 values of shape `expected`.
    fn tensor(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>> {
        let view = self.st.tensor(name).map_err(|_| {
            Error::input(
                &self.file,
                name,
                format!("missing tensor (expected F32 of shape {expected:?})"),
            )
        })?;
        if view.dtype() != Dtype::F32 {
            return Err(Error::input(
                &self.file,
                name,
                format!(
                    "dtype {:?}; expected F32 of shape {expected:?}",
                    view.dtype()
                ),
            ));
        }
        if view.shape() != expected {
            return Err(Error::input(
                &self.file,
                name,
                format!("shape {:?}; expected {expected:?}", view.shape()),
            ));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::input(
                &self.file,
                name,
                format!("non-finite value {} at flat index {i}", data[i]),
            ));
        }
        Ok(data)
    }
}

/// Reads the state at `path` into `params` (the run's trainable tensors, by name and
/// shape) and returns the optimizer and the run-level metadata.
///
/// Everything is validated before `params` is written, so on error they are unchanged.
/// Errors (input, naming the file and the tensor or metadata key): unreadable file, not a
/// safetensors file (bad or truncated header), not a training state, a missing or
/// malformed metadata key, a parameter missing or not F32 of its shape, moments missing or
/// of the wrong shape, a tensor in the file that this run does not train (a state of
/// another method or model), non-finite values, or a checksum mismatch (corrupted data).
pub fn load_state(
    path: &Path,
    params: &mut [(String, ArrayViewMutD<'_, f32>)],
) -> Result<(AdamW, StateMeta)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file = path.display().to_string();
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::input(&file, "header", format!("not a safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::input(&file, "header", format!("not a safetensors file: {e}")))?;
    let p = Parsed {
        file: file.clone(),
        st,
        meta: header.metadata().clone().unwrap_or_default(),
    };
    let format = p.key("edgesim.format")?;
    if format != STATE_FORMAT {
        return Err(Error::input(
            &file,
            "edgesim.format",
            format!("{format:?}; expected {STATE_FORMAT:?} (a state saved by tune)"),
        ));
    }
    let meta = StateMeta {
        step: p.parse("step", "a step count")?,
        seed: p.parse("seed", "a u64 seed")?,
        method: p.key("method")?.to_string(),
        config: p.key("config")?.to_string(),
    };
    let real = "a decimal number";
    let cfg = AdamWConfig {
        lr: p.parse("adamw.lr", real)?,
        beta1: p.parse("adamw.beta1", real)?,
        beta2: p.parse("adamw.beta2", real)?,
        eps: p.parse("adamw.eps", real)?,
        weight_decay: p.parse("adamw.weight_decay", real)?,
    };
    cfg.validate(&file)?;
    let steps: u64 = p.parse("adamw.steps", "a step count")?;
    let tensor_steps: BTreeMap<String, u64> = serde_json::from_str(p.key("adamw.tensor_steps")?)
        .map_err(|e| {
            Error::input(
                &file,
                "adamw.tensor_steps",
                format!("not a JSON object of tensor name -> step count: {e}"),
            )
        })?;

    let mut expected: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (name, a) in params.iter() {
        expected.insert(name.clone(), a.shape().to_vec());
    }
    let mut values: Vec<Vec<f32>> = Vec::with_capacity(params.len());
    for (name, a) in params.iter() {
        values.push(p.tensor(name, a.shape())?);
    }
    let mut state = BTreeMap::new();
    for (name, &step) in &tensor_steps {
        let shape = expected.get(name).ok_or_else(|| {
            Error::input(
                &file,
                "adamw.tensor_steps",
                format!("optimizer state for {name}, which this run does not train"),
            )
        })?;
        let dim = IxDyn(shape);
        let m = p.tensor(&format!("{M_PREFIX}{name}"), shape)?;
        let v = p.tensor(&format!("{V_PREFIX}{name}"), shape)?;
        let m = ArrayD::from_shape_vec(dim.clone(), m).map_err(|e| Error::Other(e.to_string()))?;
        let v = ArrayD::from_shape_vec(dim, v).map_err(|e| Error::Other(e.to_string()))?;
        state.insert(name.clone(), Moments { m, v, step });
    }
    let known = |n: &str| {
        expected.contains_key(n)
            || n.strip_prefix(M_PREFIX)
                .is_some_and(|b| tensor_steps.contains_key(b))
            || n.strip_prefix(V_PREFIX)
                .is_some_and(|b| tensor_steps.contains_key(b))
    };
    let mut names = p.st.names();
    names.sort_unstable();
    if let Some(extra) = names.iter().find(|n| !known(n)) {
        return Err(Error::input(
            &file,
            *extra,
            "a tensor this run does not train (a state of another method or model?)",
        ));
    }
    let stored = p.key("sha256")?;
    let views: Vec<_> = names
        .iter()
        .filter_map(|n| p.st.tensor(n).ok().map(|v| (*n, v)))
        .collect();
    let sum = checksum(views.iter().map(|(n, v)| (*n, v.shape(), v.data())));
    if sum != stored {
        return Err(Error::input(
            &file,
            "sha256",
            format!(
                "tensor data checksum {sum} differs from the stored {stored}: the file is corrupted"
            ),
        ));
    }

    for ((_, a), v) in params.iter_mut().zip(values) {
        for (dst, src) in a.iter_mut().zip(v) {
            *dst = src;
        }
    }
    Ok((AdamW { cfg, state, steps }, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::checkpoint::{EncodedTensor, StoreDtype};
    use crate::policy::SplitMix64;

    fn random(shape: &[usize], seed: u64) -> ArrayD<f32> {
        let mut rng = SplitMix64::new(seed);
        ArrayD::from_shape_simple_fn(IxDyn(shape), || (rng.next_f64() * 2.0 - 1.0) as f32)
    }

    const SA: [usize; 2] = [2, 5];
    const SB: [usize; 2] = [4, 2];

    fn names() -> [String; 2] {
        [
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight".to_string(),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight".to_string(),
        ]
    }

    /// Two trainable tensors and their optimizer.
    #[derive(Debug, Clone, PartialEq)]
    struct Run {
        a: ArrayD<f32>,
        b: ArrayD<f32>,
        opt: AdamW,
    }

    fn start() -> Run {
        Run {
            a: random(&SA, 1),
            b: ArrayD::zeros(IxDyn(&SB)),
            opt: AdamW::new(AdamWConfig {
                weight_decay: 0.01,
                ..AdamWConfig::default()
            }),
        }
    }

    /// Steps `from..to`, the gradients of step `s` drawn from seed `s`.
    fn advance(r: &mut Run, from: u64, to: u64) {
        let [na, nb] = names();
        for s in from..to {
            let (ga, gb) = (random(&SA, 100 + s), random(&SB, 200 + s));
            let mut params = vec![(na.clone(), r.a.view_mut()), (nb.clone(), r.b.view_mut())];
            r.opt
                .step(
                    &mut params,
                    &[(na.clone(), ga.view()), (nb.clone(), gb.view())],
                )
                .unwrap();
        }
    }

    fn run(steps: u64) -> Run {
        let mut r = start();
        advance(&mut r, 0, steps);
        r
    }

    fn meta() -> StateMeta {
        StateMeta {
            step: 3,
            seed: u64::MAX - 1,
            method: "edge-llm(exits=[1], window=1)".to_string(),
            config: r#"{"lr": 0.0004, "seq_len": 128}"#.to_string(),
        }
    }

    fn save(r: &Run, path: &Path) {
        let [na, nb] = names();
        save_state(path, &[(na, r.a.view()), (nb, r.b.view())], &r.opt, &meta()).unwrap();
    }

    fn load(path: &Path, a: &mut ArrayD<f32>, b: &mut ArrayD<f32>) -> Result<(AdamW, StateMeta)> {
        let [na, nb] = names();
        load_state(path, &mut [(na, a.view_mut()), (nb, b.view_mut())])
    }

    fn bits(x: &ArrayD<f32>) -> Vec<u32> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn round_trip_is_bit_exact_and_resumes_identically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.safetensors");
        let r = run(3);
        save(&r, &path);
        let mut a = ArrayD::zeros(IxDyn(&SA));
        let mut b = ArrayD::zeros(IxDyn(&SB));
        let (opt, m) = load(&path, &mut a, &mut b).unwrap();
        assert_eq!(m, meta());
        assert_eq!(bits(&a), bits(&r.a));
        assert_eq!(bits(&b), bits(&r.b));
        assert_eq!(opt, r.opt);
        assert_eq!(opt.cfg.lr.to_bits(), 4e-4f64.to_bits());
        // Two more steps after the load equal five uninterrupted steps, bit for bit.
        let mut resumed = Run { a, b, opt };
        advance(&mut resumed, 3, 5);
        let five = run(5);
        assert_eq!(bits(&resumed.a), bits(&five.a));
        assert_eq!(bits(&resumed.b), bits(&five.b));
        assert_eq!(resumed.opt, five.opt);
    }

    #[test]
    fn state_without_optimizer_moments_loads() {
        // A tensor never updated has no moments: only those in tensor_steps are read.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.safetensors");
        let r = run(0);
        save(&r, &path);
        let mut a = ArrayD::zeros(IxDyn(&SA));
        let mut b = ArrayD::ones(IxDyn(&SB));
        let (opt, _) = load(&path, &mut a, &mut b).unwrap();
        assert!(opt.state.is_empty() && opt.steps == 0);
        assert_eq!((a, b), (r.a, r.b));
    }

    #[test]
    fn corrupted_and_truncated_files_give_clean_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.safetensors");
        let r = run(2);
        save(&r, &path);
        let good = std::fs::read(&path).unwrap();
        let mut a = ArrayD::zeros(IxDyn(&SA));
        let mut b = ArrayD::zeros(IxDyn(&SB));
        let file = path.display().to_string();

        for cut in [0, 5, 100, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            let e = load(&path, &mut a, &mut b).unwrap_err();
            assert!(e.is_input() && e.to_string().contains(&file), "{cut}: {e}");
            assert!(e.to_string().contains("header"), "{cut}: {e}");
        }
        // A flipped bit in the last tensor's data: caught by the checksum.
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 2] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let e = load(&path, &mut a, &mut b).unwrap_err().to_string();
        assert!(e.contains("sha256") && e.contains("corrupted"), "{e}");
        // The failed loads wrote nothing into the parameters.
        assert!(a.iter().chain(b.iter()).all(|&v| v == 0.0));

        // Not a state at all: an adapter file.
        save_adapters(&path, &[(names()[0].clone(), r.a.view())]).unwrap();
        let e = load(&path, &mut a, &mut b).unwrap_err().to_string();
        assert!(e.contains("edgesim.format"), "{e}");
        let e = load(&dir.path().join("absent"), &mut a, &mut b).unwrap_err();
        assert!(e.is_input() && e.to_string().contains("absent"));
    }

    #[test]
    fn shape_dtype_and_name_mismatches_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.safetensors");
        save(&run(1), &path);
        let [na, nb] = names();
        // Wrong shape of a parameter.
        let mut a = ArrayD::zeros(IxDyn(&[2, 6]));
        let mut b = ArrayD::zeros(IxDyn(&SB));
        let e = load(&path, &mut a, &mut b).unwrap_err().to_string();
        assert!(
            e.contains(&na) && e.contains("[2, 5]") && e.contains("[2, 6]"),
            "{e}"
        );
        // A parameter the file lacks.
        let mut a = ArrayD::zeros(IxDyn(&SA));
        let mut c = ArrayD::zeros(IxDyn(&[3]));
        let e = load_state(
            &path,
            &mut [
                (na.clone(), a.view_mut()),
                (nb.clone(), b.view_mut()),
                ("exits.0.norm.weight".to_string(), c.view_mut()),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("exits.0.norm.weight") && e.contains("missing tensor"),
            "{e}"
        );
        // A run that trains fewer tensors than the file holds.
        let e = load_state(&path, &mut [(na.clone(), a.view_mut())])
            .unwrap_err()
            .to_string();
        assert!(e.contains(&nb) && e.contains("does not train"), "{e}");

        // Wrong dtype: the same state with parameter A stored as f16.
        save(&run(0), &path);
        let good = std::fs::read(&path).unwrap();
        let (_, header) = SafeTensors::read_metadata(&good).unwrap();
        let t_a = EncodedTensor::new(StoreDtype::F16, SA.to_vec(), &[0.0; 10]);
        let t_b = EncodedTensor::new(StoreDtype::F32, SB.to_vec(), &[0.0; 8]);
        let bytes = safetensors::serialize(
            [(na.as_str(), &t_a), (nb.as_str(), &t_b)],
            header.metadata().clone(),
        )
        .unwrap();
        std::fs::write(&path, bytes).unwrap();
        let e = load(&path, &mut a, &mut b).unwrap_err().to_string();
        assert!(
            e.contains(&na) && e.contains("F16") && e.contains("expected F32"),
            "{e}"
        );
    }

    #[test]
    fn adapters_file_holds_the_tensors_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adapter_model.safetensors");
        let r = run(1);
        let [na, nb] = names();
        save_adapters(&path, &[(na.clone(), r.a.view()), (nb.clone(), r.b.view())]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut got = st.names();
        got.sort_unstable();
        assert_eq!(got, vec![na.as_str(), nb.as_str()]);
        let v = st.tensor(&na).unwrap();
        assert_eq!((v.dtype(), v.shape()), (Dtype::F32, &SA[..]));
        let stored: Vec<u32> = v
            .data()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(stored, bits(&r.a));
        let (_, h) = SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(h.metadata().as_ref().unwrap()["format"], "pt");
        let e = save_adapters(&path, &[(na.clone(), r.a.view()), (na, r.a.view())]);
        assert!(e.unwrap_err().to_string().contains("repeated"));
    }
}
