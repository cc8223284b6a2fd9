//! The `edgesim` command; all logic lives in the library (`edgesim::cli`).

fn main() {
    std::process::exit(edgesim::cli::main());
}
