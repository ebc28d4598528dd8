//! Files read by reference (SPEC §6): a group's `{ import = "FILE.json" }` and a scenario's
//! `world = "PATH"`. They are regular files of at most [`MAX_REFERENCED`] bytes; an import
//! also lies under the referring file's folder (no absolute path, no `..`, no link out of
//! it). A byte-order mark at the start of any file read is ignored.

use super::io_reason;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The largest file read by reference: 16 MiB.
pub const MAX_REFERENCED: u64 = 16 * 1024 * 1024;

/// Drops a UTF-8 byte-order mark at the start of a text.
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The path an import names, checked to lie under `base` (the referring file's folder, the
/// current folder when `None`): relative, without `..`, and not a link out of the folder.
pub fn resolve_under(base: Option<&Path>, name: &str) -> Result<PathBuf, String> {
    let rel = Path::new(name);
    if name.is_empty() {
        return Err("the file name is empty".into());
    }
    if rel.is_absolute() || rel.has_root() {
        return Err(format!(
            "`{}` is an absolute path: name a file under the world file's folder",
            super::quote(name)
        ));
    }
    if rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "`{}` leaves the world file's folder (`..`): name a file under it",
            super::quote(name)
        ));
    }
    let folder = base
        .filter(|b| !b.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let path = folder.join(rel);
    // A link inside the folder may point anywhere: the real file must be under the real folder.
    if let (Ok(real), Ok(real_folder)) = (path.canonicalize(), folder.canonicalize()) {
        if !real.starts_with(&real_folder) {
            return Err(format!(
                "`{}` is a link to `{}`, outside the world file's folder",
                super::quote(name),
                real.display()
            ));
        }
    }
    Ok(path)
}

/// Reads a referenced file: a regular file (not a FIFO or a device) of at most
/// [`MAX_REFERENCED`] bytes, UTF-8, a leading byte-order mark dropped. The error is the
/// reason only (the caller names the file).
pub fn read_bounded(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_REFERENCED {
        return Err(format!(
            "{} bytes is more than the {} MiB a referenced file may have",
            meta.len(),
            MAX_REFERENCED >> 20
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    // The file could be swapped between the check and the open: check what was opened too.
    let opened = file.metadata().map_err(|e| io_reason(&e))?;
    if !opened.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    file.take(MAX_REFERENCED + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > MAX_REFERENCED {
        return Err(format!(
            "more than the {} MiB a referenced file may have",
            MAX_REFERENCED >> 20
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| "not valid UTF-8 text".to_string())?;
    Ok(strip_bom(&text).to_string())
}
