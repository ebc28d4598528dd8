//! The world file as a store: loading it, the lock that serializes writers, and the atomic
//! write back (SPEC §6, "Safety of the file").
//!
//! ```no_run
//! use sgsim::store::Store;
//! # fn main() -> Result<(), sgsim::store::StoreError> {
//! let store = Store::open("world.toml".as_ref())?;
//! let _lock = store.lock()?; // held until dropped: other writers wait
//! let mut world = store.load()?;
//! world.region_id = "cn-shanghai".into();
//! store.save(&world)?;
//! # Ok(()) }
//! ```
//!
//! The lock is an exclusive advisory lock on `FILE.lock` beside the real file (a symlink is
//! followed), so concurrent writers that take it lose nothing; readers need not take it,
//! since a save replaces the file atomically: the new text goes to a temporary file in the
//! same folder with the file's permissions, is synced, then renamed over the file.

use crate::model::World;
use crate::world_file::{self, io_reason, Format, WorldError};
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the store could not do what was asked. Displays as one line naming the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The world file does not load: the error says where and why.
    World(WorldError),
    /// A file could not be read, locked or written.
    Io {
        /// The file, as the user named it (or the lock file's path).
        path: String,
        /// `read`, `lock` or `write`.
        action: &'static str,
        /// The short reason ([`io_reason`]).
        reason: String,
    },
    /// The extension names no world format.
    UnknownFormat {
        /// The file, as the user named it.
        path: String,
    },
    /// The world could not be written in the file's format.
    Encode {
        /// The file, as the user named it.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::World(e) => e.fmt(f),
            StoreError::Io {
                path,
                action,
                reason,
            } => write!(f, "{path}: cannot {action}: {reason}"),
            StoreError::UnknownFormat { path } => write!(
                f,
                "{path}: unknown world file extension: use `.toml` or `.json`"
            ),
            StoreError::Encode { path, message } => {
                write!(f, "{path}: cannot write the world: {message}")
            }
        }
    }
}

impl std::error::Error for StoreError {}

impl From<WorldError> for StoreError {
    fn from(e: WorldError) -> StoreError {
        StoreError::World(e)
    }
}

/// A world file: where it is (as named and behind links) and its format.
#[derive(Debug, Clone)]
pub struct Store {
    /// The path as given: errors name it, and imports are relative to its folder.
    path: PathBuf,
    /// The real file behind any symlink: it is what gets locked and replaced.
    real: PathBuf,
    /// The format, by the extension of the path given or else of the real file.
    format: Format,
}

/// How long a lock may be waited on before the wait is said on stderr.
pub const LOCK_NOTICE: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens (creating) the lock file without following a link and without blocking on a
/// FIFO.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// The store's exclusive lock; released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// Opens the world file at `path`: it must exist and have a `.toml` or `.json`
    /// extension (its own or its symlink target's). Nothing is read yet.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let real = std::fs::canonicalize(path).map_err(|e| StoreError::Io {
            path: shown.clone(),
            action: "read",
            reason: io_reason(&e),
        })?;
        let format = Format::of_path(path)
            .or_else(|| Format::of_path(&real))
            .ok_or(StoreError::UnknownFormat { path: shown })?;
        Ok(Store {
            path: path.to_path_buf(),
            real,
            format,
        })
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Takes the exclusive lock on `FILE.lock` beside the real file, waiting for other
    /// holders; held until the returned guard is dropped. The lock file is opened without
    /// following a link and must be a regular file (a FIFO or a link there is refused, not
    /// waited on); a wait of more than [`LOCK_NOTICE`] is said once on stderr.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let mut name = self.real.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = self.real.with_file_name(name);
        let shown = path.display().to_string();
        let fail = |reason: String| StoreError::Io {
            path: shown.clone(),
            action: "lock",
            reason,
        };
        let file = open_lock_file(&path).map_err(|e| {
            fail(match e.raw_os_error() {
                Some(libc::ELOOP) => {
                    "it is a link (a lock file is never followed through a link)".into()
                }
                // A FIFO without a reader, or a device.
                Some(libc::ENXIO) | Some(libc::ENODEV) => "not a regular file".into(),
                _ => io_reason(&e),
            })
        })?;
        let meta = file.metadata().map_err(|e| fail(io_reason(&e)))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        let start = std::time::Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !told && start.elapsed() >= LOCK_NOTICE {
                        told = true;
                        let _ = writeln!(
                            std::io::stderr(),
                            "note: {shown}: waiting for the lock held by another process"
                        );
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(fail(io_reason(&e))),
            }
        }
        Ok(StoreLock { _file: file })
    }

    /// Refuses a world file the caller may not write (no write permission bit, or one it
    /// cannot open for writing): it is not replaced behind the owner's back.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let fail = |reason: &str| StoreError::Io {
            path: self.path.display().to_string(),
            action: "write",
            reason: reason.to_string(),
        };
        let meta = std::fs::metadata(&self.real).map_err(|e| fail(&io_reason(&e)))?;
        if meta.permissions().readonly() {
            return Err(fail(
                "the file is read-only (no write permission); it is not replaced",
            ));
        }
        std::fs::OpenOptions::new()
            .write(true)
            .open(&self.real)
            .map_err(|e| fail(&format!("{}; it is not replaced", io_reason(&e))))?;
        Ok(())
    }

    /// Reads and validates the world.
    pub fn load(&self) -> Result<World, StoreError> {
        Ok(world_file::load(&self.path)?)
    }

    /// Reads and validates the world, and returns the text read too, for
    /// [`Store::save_edited`].
    pub fn load_with_text(&self) -> Result<(World, String), StoreError> {
        Ok(world_file::load_with_text(&self.path)?)
    }

    /// Writes `world` back in the file's format, replacing the real file atomically (the
    /// caller holds the [lock](Store::lock)).
    pub fn save(&self, world: &World) -> Result<(), StoreError> {
        let shown = || self.path.display().to_string();
        let text =
            world_file::to_string(world, self.format).map_err(|message| StoreError::Encode {
                path: shown(),
                message,
            })?;
        self.write(text.as_bytes())
    }

    /// Writes the change from `before` to `after` into the file whose text was `old`,
    /// keeping what the user wrote ([`world_file::edit_text`]); when that edit cannot be
    /// made, the world is written whole and a note says why. The file must still hold `old`
    /// (a change made meanwhile, by hand or another program, is not overwritten). Returns
    /// the new text and the notes for the user.
    pub fn save_edited(
        &self,
        old: &str,
        before: &World,
        after: &World,
    ) -> Result<(String, Vec<String>), StoreError> {
        let shown = self.path.display().to_string();
        let now = std::fs::read_to_string(&self.real).map_err(|e| StoreError::Io {
            path: shown.clone(),
            action: "read",
            reason: io_reason(&e),
        })?;
        if now != old {
            return Err(changed(shown));
        }
        let base = self.path.parent();
        let (text, notes) =
            match world_file::edit_text(old, self.format, &shown, base, before, after) {
                Ok(e) => (e.text, e.notes),
                Err(why) => {
                    let text = world_file::to_string(after, self.format).map_err(|message| {
                        StoreError::Encode {
                            path: shown.clone(),
                            message,
                        }
                    })?;
                    (
                        text,
                        vec![format!(
                            "the file is written whole, without its comments and layout: {why}"
                        )],
                    )
                }
            };
        // Checked again after the new file is written and synced, just before it replaces
        // the old one: an edit made while this one was prepared is not overwritten either.
        let tmp = write_temp(&self.real, text.as_bytes(), &self.real)
            .map_err(|e| self.write_error(&e))?;
        if !std::fs::read(&self.real).is_ok_and(|now| now == old.as_bytes()) {
            return Err(changed(shown)); // dropping `tmp` removes it
        }
        persist(tmp, &self.real).map_err(|e| self.write_error(&e))?;
        Ok((text, notes))
    }

    /// Replaces the file's bytes by `data` atomically and durably (the caller holds the
    /// [lock](Store::lock)): a temporary file created new and exclusive in the same folder,
    /// given the file's mode, written and synced, renamed over the file, and the folder
    /// synced, so the change is on disk when this returns. For writers that serialize the
    /// world themselves (`sgsim serve` does it off its writer thread).
    pub fn replace(&self, data: &[u8]) -> Result<(), StoreError> {
        self.write(data)
    }

    /// The first half of [`Store::replace`], which needs no lock: `data` written to an
    /// exclusive, randomly named temporary file beside the real file, with its mode, and
    /// synced. [`Prepared::commit`] (under the lock) renames it over the file; dropped
    /// instead, it is removed. So a large write costs the lock holder only the rename.
    pub fn prepare(&self, data: &[u8]) -> Result<Prepared, StoreError> {
        let shown = self.path.display().to_string();
        let fail = |e: std::io::Error| StoreError::Io {
            path: shown.clone(),
            action: "write",
            reason: io_reason(&e),
        };
        let tmp = write_temp(&self.real, data, &self.real).map_err(fail)?;
        Ok(Prepared {
            tmp,
            target: self.real.clone(),
            shown,
        })
    }

    /// The real file behind any symlink: what is locked and replaced, and beside which the
    /// lock and the journal are.
    pub fn real(&self) -> &Path {
        &self.real
    }

    /// The identity of the real file's current version; `None` when it cannot be read.
    pub fn stamp(&self) -> Option<Stamp> {
        Stamp::of(&self.real)
    }

    fn write(&self, data: &[u8]) -> Result<(), StoreError> {
        write_atomic(&self.real, data, &self.real).map_err(|e| self.write_error(&e))
    }

    fn write_error(&self, e: &std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.display().to_string(),
            action: "write",
            reason: io_reason(e),
        }
    }
}

/// The error of a world file changed since it was read.
fn changed(path: String) -> StoreError {
    StoreError::Io {
        path,
        action: "write",
        reason:
            "the file changed since it was read (by hand or another program); it is not overwritten"
                .into(),
    }
}

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

impl Stamp {
    /// The stamp of the file at `path` now; `None` when it cannot be read.
    pub fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }
}

/// Reads and validates the world file at `path`, for commands that only read it.
pub fn load(path: &Path) -> Result<World, StoreError> {
    Store::open(path)?.load()
}

/// Replaces `target` by `data` atomically: a temporary file created new and exclusive (a
/// random name, never through an existing name or link) in the same folder, given the
/// mode of `mode_of` (the target itself, or for a new file the file it belongs with),
/// written and synced, renamed over the target, and the folder synced, so the change is on
/// disk when this returns. A link at `target` is replaced, never followed.
pub(crate) fn write_atomic(target: &Path, data: &[u8], mode_of: &Path) -> std::io::Result<()> {
    let tmp = write_temp(target, data, mode_of)?;
    persist(tmp, target)
}

/// The folder of `target` (`.` for a bare name).
fn folder_of(target: &Path) -> &Path {
    match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The first half of [`write_atomic`]: the temporary file, written and synced.
fn write_temp(
    target: &Path,
    data: &[u8],
    mode_of: &Path,
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(target.file_name().unwrap_or_default());
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(folder_of(target))?;
    if let Ok(meta) = std::fs::metadata(target).or_else(|_| std::fs::metadata(mode_of)) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// The second half of [`write_atomic`]: the rename over `target`, then the folder synced.
fn persist(tmp: tempfile::NamedTempFile, target: &Path) -> std::io::Result<()> {
    tmp.persist(target).map_err(|e| e.error)?;
    File::open(folder_of(target))?.sync_all()
}

/// A replacement of the world file written and synced but not yet in place (see
/// [`Store::prepare`]); removed if dropped.
#[derive(Debug)]
pub struct Prepared {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    shown: String,
}

impl Prepared {
    /// Renames the prepared file over the world file and syncs the folder (the caller
    /// holds the [lock](Store::lock)).
    pub fn commit(self) -> Result<(), StoreError> {
        let shown = self.shown;
        persist(self.tmp, &self.target).map_err(|e| StoreError::Io {
            path: shown,
            action: "write",
            reason: io_reason(&e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder under the system temp dir, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("sgsim-store-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn load_save_round_trip_through_a_link() {
        let d = Dir::new("link");
        let real = d.0.join("w.toml");
        std::fs::write(&real, "region_id = \"cn-hangzhou\"\n").unwrap();
        let link = d.0.join("link");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, &link).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(&real, &link).unwrap();
        let store = Store::open(&link).unwrap();
        assert_eq!(
            store.format(),
            Format::Toml,
            "the format of the link's target"
        );
        let _lock = store.lock().unwrap();
        assert!(
            d.0.join("w.toml.lock").exists(),
            "the lock is beside the real file"
        );
        let mut world = world_file::load(&real).unwrap();
        world.region_id = "cn-shanghai".into();
        store.save(&world).unwrap();
        assert_eq!(world_file::load(&real).unwrap().region_id, "cn-shanghai");
        let names: Vec<_> = std::fs::read_dir(&d.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn errors_name_the_file() {
        let d = Dir::new("errors");
        let missing = d.0.join("nope.toml");
        let e = Store::open(&missing).unwrap_err().to_string();
        assert!(e.ends_with("nope.toml: cannot read: no such file"), "{e}");
        let odd = d.0.join("w.yaml");
        std::fs::write(&odd, "").unwrap();
        let e = Store::open(&odd).unwrap_err().to_string();
        assert!(e.contains("w.yaml: unknown world file extension"), "{e}");
        let bad = d.0.join("bad.toml");
        std::fs::write(&bad, "region_id = 1\n").unwrap();
        let e = load(&bad).unwrap_err();
        assert!(matches!(e, StoreError::World(_)), "{e}");
    }
}
