//! Scenario files (SPEC §5): a world, held inline or named with `world = "PATH"`, plus
//! ordered steps — API calls, packets and rule counts — each with its expectation. Used by
//! `sgsim scenario run` and by the test suite. The format is described in
//! `docs/scenarios.md`.
//!
//! - [`format`](mod@format): the file as written, and loading it ([`load`]);
//! - [`runner`]: running its steps ([`run_file`]);
//! - [`junit`](mod@junit): the JUnit XML report.

pub mod format;
pub mod junit;
pub mod runner;

pub use format::{load, Scenario, Step};
pub use junit::junit;
pub use runner::{describe, json_subset, run_file, run_file_with, Outcome};

use crate::world_file;
use std::path::{Path, PathBuf};

/// The time scenario runs use for `CreateTime`.
pub const SCENARIO_TIME: &str = "2026-01-01T00:00:00Z";

/// The name of the folders that a folder search skips: shared world files live there.
pub const WORLDS_FOLDER: &str = "worlds";

/// The scenario files under some paths: files as given, folders searched recursively for
/// `*.toml`, skipping folders named [`WORLDS_FOLDER`] (`worlds`), in byte order of path.
/// A missing path, or a folder without scenario files, is an error.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)
                .map_err(|e| format!("{}: {}", p.display(), world_file::io_reason(&e)))?;
            found.sort_by(|a, b| {
                a.as_os_str()
                    .as_encoded_bytes()
                    .cmp(b.as_os_str().as_encoded_bytes())
            });
            if found.is_empty() {
                return Err(format!(
                    "{}: no scenario files (`*.toml` outside `{WORLDS_FOLDER}` folders) in this folder",
                    p.display()
                ));
            }
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    Ok(out)
}

/// Collects the `*.toml` files under `dir`. Links to folders are not followed (so a link
/// loop cannot make the walk endless); a link to a file is taken like the file.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        let is_dir = kind.is_dir();
        let is_file = kind.is_file() || (kind.is_symlink() && path.is_file());
        if is_dir {
            if path.file_name().is_some_and(|n| n != WORLDS_FOLDER) {
                walk(&path, out)?;
            }
        } else if is_file && path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sgsim-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_empty_folder_yields_an_error() {
        let dir = temp_dir("empty");
        let e = collect(std::slice::from_ref(&dir)).unwrap_err();
        assert!(e.contains("no scenario files"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn worlds_folders_are_skipped_but_a_named_file_is_run() {
        let dir = temp_dir("worlds-skip");
        std::fs::create_dir_all(dir.join("worlds")).unwrap();
        std::fs::create_dir_all(dir.join("sub/worlds")).unwrap();
        for f in [
            "a.toml",
            "sub/b.toml",
            "worlds/w.toml",
            "sub/worlds/w.toml",
            "c.json",
        ] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let found = collect(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(found, vec![dir.join("a.toml"), dir.join("sub/b.toml")]);
        let only_worlds = collect(&[dir.join("worlds")]);
        assert_eq!(only_worlds.unwrap(), vec![dir.join("worlds/w.toml")]);
        let named = collect(&[dir.join("worlds/w.toml")]).unwrap();
        assert_eq!(named, vec![dir.join("worlds/w.toml")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn links_to_folders_are_not_followed() {
        let dir = temp_dir("link-loop");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.toml"), "").unwrap();
        std::fs::write(dir.join("b.toml"), "").unwrap();
        // Two self-links in each folder: followed, the walk would grow without end.
        for f in ["", "sub/"] {
            std::os::unix::fs::symlink(".", dir.join(format!("{f}self1"))).unwrap();
            std::os::unix::fs::symlink("..", dir.join(format!("{f}self2"))).unwrap();
        }
        std::os::unix::fs::symlink("b.toml", dir.join("c.toml")).unwrap();
        let found = collect(std::slice::from_ref(&dir)).unwrap();
        assert_eq!(
            found,
            vec![
                dir.join("b.toml"),
                dir.join("c.toml"),
                dir.join("sub/a.toml")
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
