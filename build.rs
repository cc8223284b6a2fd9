//! Records the git commit the binary is built from, for `edgesim --version`.
//!
//! `EDGESIM_GIT_COMMIT` is set to the short commit of `HEAD` (with `-dirty` never
//! guessed: the working tree is not read). Outside a git checkout (a source tarball, a
//! vendored copy) or without `git`, it is `unknown`; a packager may set
//! `EDGESIM_GIT_COMMIT` in the environment to override it. The build never fails here.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=EDGESIM_GIT_COMMIT");
    let commit = std::env::var("EDGESIM_GIT_COMMIT")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves: the HEAD file (a branch switch) and the branch's ref (a
    // commit), wherever this checkout keeps them (worktrees have their own HEAD).
    // A path that does not exist would make cargo rerun this script on every build.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in &watch {
        if let Some(p) = git(&["rev-parse", "--git-path", name])
            && std::path::Path::new(&p).exists()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rustc-env=EDGESIM_GIT_COMMIT={commit}");
}
