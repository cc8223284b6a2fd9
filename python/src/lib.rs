//! The `edgesim._native` extension module of the `edgesim` Python package.
//!
//! Each function takes one JSON request (built by `edgesim/__init__.py` from the Python
//! arguments, see [`request`]) and returns one JSON document (the command line's
//! `--json` output), so the Python side gets exactly the numbers the command prints
//! (serde_json's shortest round-trip floats, read back by Python's `json`). The work runs
//! without the GIL, so other Python threads go on meanwhile. Every `edgesim::Error`
//! becomes `edgesim.EdgesimError` (a `ValueError`) carrying edgesim's message (file, key,
//! allowed range), with `file`, `key` and `msg` attributes for bad input.

mod inputs;
mod ops;
mod request;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyModule, PyTuple};

pyo3::create_exception!(
    edgesim,
    EdgesimError,
    PyValueError,
    "Bad input or a failed computation in edgesim; the message names the file (or \
     `<hw dict>`, `<workload 1 string>` for inline inputs), the key and the allowed range. \
     Attributes `file`, `key`, `msg` are set for bad input, else None."
);

/// An `edgesim::Error` as a Python `EdgesimError`.
fn py_err(py: Python<'_>, e: edgesim::Error) -> PyErr {
    let err = EdgesimError::new_err(e.to_string());
    let (file, key, msg) = match &e {
        edgesim::Error::Input { file, key, msg } => {
            (Some(file.clone()), Some(key.clone()), Some(msg.clone()))
        }
        edgesim::Error::Io { file, .. } => (Some(file.clone()), None, None),
        edgesim::Error::Other(_) => (None, None, None),
    };
    let value = err.value(py);
    for (name, v) in [("file", file), ("key", key), ("msg", msg)] {
        // An attribute that cannot be set leaves the message, which says it all.
        let _ = value.setattr(name, v);
    }
    err
}

/// One function of the module: its name, docstring and operation.
type Entry = (
    &'static std::ffi::CStr,
    &'static std::ffi::CStr,
    fn(&str) -> edgesim::Result<serde_json::Value>,
);

/// Runs an operation on a request text.
fn op<R: for<'de> serde::Deserialize<'de>>(
    name: &str,
    text: &str,
    f: fn(&R) -> edgesim::Result<serde_json::Value>,
) -> edgesim::Result<serde_json::Value> {
    f(&request::parse(name, text)?)
}

/// The functions of `edgesim._native`: each `f(request_json: str) -> str`.
const FUNCTIONS: [Entry; 6] = [
    (
        c"run",
        c"run(request_json) -> str: the `edgesim run --json` document.",
        |t| op("run", t, ops::run),
    ),
    (
        c"sweep",
        c"sweep(request_json) -> str: {\"columns\": [...], \"rows\": [[...]]} of sweep.csv.",
        |t| op("sweep", t, ops::sweep),
    ),
    (
        c"trace",
        c"trace(request_json) -> str: the Trace document.",
        |t| op("trace", t, ops::trace),
    ),
    (
        c"simulate",
        c"simulate(request_json) -> str: the `edgesim sim --json` document.",
        |t| op("simulate", t, ops::simulate),
    ),
    (
        c"hardware",
        c"hardware(request_json) -> str: the validated hardware document.",
        |t| op("hardware", t, ops::hardware),
    ),
    (
        c"workload_names",
        c"workload_names(request_json) -> str: the embedded workloads' names.",
        |_| Ok(ops::workload_names()),
    ),
];

/// Calls `f` on the one string argument, without the GIL.
fn call(
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
    f: fn(&str) -> edgesim::Result<serde_json::Value>,
) -> PyResult<String> {
    let py = args.py();
    if args.len() != 1 || kwargs.is_some_and(|k| !k.is_empty()) {
        return Err(PyTypeError::new_err(
            "takes exactly one argument, the request as a JSON string",
        ));
    }
    let text: String = args.get_item(0)?.extract()?;
    py.detach(move || {
        let doc = f(&text)?;
        serde_json::to_string(&doc).map_err(|e| edgesim::Error::Other(e.to_string()))
    })
    .map_err(|e| py_err(py, e))
}

/// The module definition for single-phase initialisation: `m_size` -1 because the
/// module keeps state in statics (the exception type), so it is not re-initialised per
/// interpreter.
static mut MODULE_DEF: pyo3::ffi::PyModuleDef = pyo3::ffi::PyModuleDef {
    m_base: pyo3::ffi::PyModuleDef_HEAD_INIT,
    m_name: c"edgesim._native".as_ptr(),
    m_doc: c"edgesim's Rust library; use the functions of the `edgesim` package.".as_ptr(),
    m_size: -1,
    m_methods: std::ptr::null_mut(),
    m_slots: std::ptr::null_mut(),
    m_traverse: None,
    m_clear: None,
    m_free: None,
};

/// Creates and fills the module `edgesim._native`.
fn module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    // SAFETY: MODULE_DEF is a valid, 'static definition that only CPython reads and
    // writes (its m_base), under the GIL, during this import.
    let m = unsafe {
        let ptr = pyo3::ffi::PyModule_Create(&raw mut MODULE_DEF);
        Bound::from_owned_ptr_or_err(py, ptr)?
    };
    let m = m.cast_into::<PyModule>()?;
    m.add("EdgesimError", py.get_type::<EdgesimError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    for (name, doc, f) in FUNCTIONS {
        let function =
            PyCFunction::new_closure(py, Some(name), Some(doc), move |a, k| call(a, k, f))?;
        m.add(name.to_str().unwrap_or("?"), function)?;
    }
    Ok(m)
}

/// The entry point CPython calls on `import edgesim._native` (single-phase
/// initialisation): the module, or NULL with the exception set.
///
/// # Safety
/// Called by the interpreter, with the GIL held, once per import.
#[allow(non_snake_case)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PyInit__native() -> *mut pyo3::ffi::PyObject {
    Python::attach(|py| match module(py) {
        Ok(m) => m.into_ptr(),
        Err(e) => {
            e.restore(py);
            std::ptr::null_mut()
        }
    })
}
