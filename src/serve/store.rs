//! File primitives of the endpoint's world: the identity of the file on disk, the lock
//! shared with `sgsim call`, and the durable atomic replacement.

use std::io::Write;
use std::path::Path;

/// What identifies one version of a file: every atomic write makes a new inode with a new
/// change time, so another process's write is seen even within one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

/// The stamp of the file now; `None` when it cannot be read.
pub fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }
    #[cfg(not(unix))]
    {
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0));
        Some(Stamp {
            dev: 0,
            ino: 0,
            len: m.len(),
            mtime_ns,
            ctime_ns: 0,
        })
    }
}

/// Takes the exclusive lock on `FILE.lock` beside the real file (the lock `sgsim call`
/// takes); held until the returned file is dropped.
pub fn lock(target: &Path) -> Result<std::fs::File, String> {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let path = target.with_file_name(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| {
            format!(
                "{}: cannot lock: {}",
                path.display(),
                crate::world_file::io_reason(&e)
            )
        })?;
    file.lock().map_err(|e| {
        format!(
            "{}: cannot lock: {}",
            path.display(),
            crate::world_file::io_reason(&e)
        )
    })?;
    Ok(file)
}

/// Replaces `target` by `data` durably: a temporary file in the same folder with the
/// target's permissions, synced, renamed over the target, and the folder synced so the
/// rename itself survives a crash.
pub fn write_atomic(target: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        if let Ok(meta) = std::fs::metadata(target) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, target)?;
        #[cfg(unix)]
        std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?
        .sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
