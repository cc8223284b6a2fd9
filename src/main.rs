//! The `edgesim` command; all logic lives in the library (`edgesim::cli`).

fn main() {
    restore_default_sigpipe();
    std::process::exit(edgesim::cli::main());
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`edgesim trace ... | head`) would
/// panic on the write error; a command-line tool should end quietly instead, as `cat` does.
#[cfg(unix)]
fn restore_default_sigpipe() {
    // SAFETY: called once at start-up before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}
