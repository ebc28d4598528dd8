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
    /// holders; held until the returned guard is dropped.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let mut name = self.real.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = self.real.with_file_name(name);
        let fail = |e: std::io::Error| StoreError::Io {
            path: path.display().to_string(),
            action: "lock",
            reason: io_reason(&e),
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(fail)?;
        file.lock().map_err(fail)?;
        Ok(StoreLock { _file: file })
    }

    /// Reads and validates the world.
    pub fn load(&self) -> Result<World, StoreError> {
        Ok(world_file::load(&self.path)?)
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
        write_atomic(&self.real, text.as_bytes()).map_err(|e| StoreError::Io {
            path: shown(),
            action: "write",
            reason: io_reason(&e),
        })
    }
}

/// Reads and validates the world file at `path`, for commands that only read it.
pub fn load(path: &Path) -> Result<World, StoreError> {
    Store::open(path)?.load()
}

/// Replaces `target` by `data` atomically: a temporary file in the same folder with the
/// target's permissions, synced, then renamed over it.
fn write_atomic(target: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = target.parent().unwrap_or_else(|| Path::new("."));
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(name);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        if let Ok(meta) = std::fs::metadata(target) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
