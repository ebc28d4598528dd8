//! The world as the endpoint holds it: an immutable snapshot that readers share, replaced
//! whole by the writer after each durable commit, and reloaded when another process
//! (`sgsim call`) replaced the file.
//!
//! Writes are serialized on one writer thread that commits in groups: it takes every call
//! waiting, applies them in order to a copy of the world, writes the file once (under the
//! file's lock, atomically, synced) and only then publishes the new snapshot and answers
//! them all. So an acknowledged change is on disk, readers see only whole, durable calls,
//! and the write rate grows with the number of waiting clients instead of being one
//! file rewrite per call.

use super::store;
use super::Answer;
use crate::api::{self, CallContext, Params};
use crate::model::World;
use crate::world_file::{self, Format};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};

/// At most this many calls go into one commit.
pub const MAX_BATCH: usize = 512;

/// A version of the world with the identity of the file it came from.
pub struct Snapshot {
    /// The world.
    pub world: World,
    /// The file's identity when it was read or written.
    pub stamp: Option<store::Stamp>,
}

/// One call waiting for the writer.
struct Job {
    params: Params,
    request_id: String,
    reply: tokio::sync::oneshot::Sender<Answer>,
}

/// The shared world: snapshots for readers, a queue to the writer.
pub struct WorldHandle {
    /// The file as named on the command line (for messages).
    shown: String,
    /// The real file behind any symlink: what gets replaced.
    target: PathBuf,
    format: Format,
    current: RwLock<Arc<Snapshot>>,
    reload: Mutex<()>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
}

impl WorldHandle {
    /// Opens a world file; the writer thread is started by [`WorldHandle::start_writer`].
    pub fn open(path: &Path) -> Result<Arc<WorldHandle>, String> {
        let shown = path.display().to_string();
        let target = std::fs::canonicalize(path)
            .map_err(|e| format!("{shown}: cannot read: {}", world_file::io_reason(&e)))?;
        let format = Format::of_path(path)
            .or_else(|| Format::of_path(&target))
            .ok_or_else(|| {
                format!("{shown}: unknown world file extension: use `.toml` or `.json`")
            })?;
        let stamp = store::stamp(&target);
        let world = world_file::load(path).map_err(|e| e.to_string())?;
        Ok(Arc::new(WorldHandle {
            shown,
            target,
            format,
            current: RwLock::new(Arc::new(Snapshot { world, stamp })),
            reload: Mutex::new(()),
            queue: Mutex::new(None),
        }))
    }

    fn published(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    fn publish(&self, snap: Arc<Snapshot>) {
        match self.current.write() {
            Ok(mut g) => *g = snap,
            Err(p) => *p.into_inner() = snap,
        }
    }

    /// The current world, reloaded first when the file changed on disk.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, String> {
        let snap = self.published();
        let now = store::stamp(&self.target);
        if now.is_none() || now == snap.stamp {
            return Ok(snap);
        }
        let _guard = match self.reload.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let snap = self.published();
        let now = store::stamp(&self.target);
        if now == snap.stamp {
            return Ok(snap);
        }
        let fresh = Arc::new(self.load()?);
        self.publish(Arc::clone(&fresh));
        Ok(fresh)
    }

    /// Reads the file and its stamp (the stamp first: a later change makes them differ,
    /// which only costs another reload).
    fn load(&self) -> Result<Snapshot, String> {
        let stamp = store::stamp(&self.target);
        let world = world_file::load(&self.target).map_err(|e| e.to_string())?;
        Ok(Snapshot { world, stamp })
    }

    /// Starts the writer thread; calls [`WorldHandle::submit`] until
    /// [`WorldHandle::close`].
    pub fn start_writer(self: &Arc<Self>) -> std::thread::JoinHandle<()> {
        let (tx, rx) = mpsc::channel::<Job>();
        match self.queue.lock() {
            Ok(mut q) => *q = Some(tx),
            Err(p) => *p.into_inner() = Some(tx),
        }
        let me = Arc::clone(self);
        std::thread::spawn(move || me.writer(&rx))
    }

    /// Stops taking calls; the writer finishes the queued ones and ends.
    pub fn close(&self) {
        match self.queue.lock() {
            Ok(mut q) => *q = None,
            Err(p) => *p.into_inner() = None,
        }
    }

    /// Queues a call that may change the world and waits for its durable answer.
    pub async fn submit(&self, params: Params, request_id: String) -> Answer {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = match self.queue.lock() {
            Ok(q) => q.as_ref().map(|tx| {
                tx.send(Job {
                    params,
                    request_id: request_id.clone(),
                    reply,
                })
            }),
            Err(_) => None,
        };
        if !matches!(sent, Some(Ok(()))) {
            return internal(&request_id, "the server is shutting down", "");
        }
        match answer.await {
            Ok(r) => r,
            Err(_) => internal(&request_id, "the writer stopped", ""),
        }
    }

    fn writer(&self, rx: &mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let answers = self.commit(&jobs);
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.reply.send(answer);
            }
        }
    }

    /// Applies a group of calls in order and makes the result durable; every answer is
    /// 500 `InternalError` when the file cannot be read or written.
    fn commit(&self, jobs: &[Job]) -> Vec<Answer> {
        let fail = |msg: &str| -> Vec<Answer> {
            jobs.iter()
                .map(|j| internal(&j.request_id, msg, &self.shown))
                .collect()
        };
        let _lock = match store::lock(&self.target) {
            Ok(l) => l,
            Err(e) => return fail(&e),
        };
        let mut snap = self.published();
        if store::stamp(&self.target) != snap.stamp {
            match self.load() {
                Ok(s) => {
                    snap = Arc::new(s);
                    self.publish(Arc::clone(&snap));
                }
                Err(e) => return fail(&e),
            }
        }
        let ctx = CallContext::now_utc();
        let mut world = snap.world.clone();
        let answers: Vec<Answer> = jobs
            .iter()
            .map(|j| {
                Answer::from(api::call_with_id(
                    &mut world,
                    &j.params,
                    &ctx,
                    &j.request_id,
                ))
            })
            .collect();
        if world == snap.world {
            return answers;
        }
        let text = match world_file::to_string(&world, self.format) {
            Ok(t) => t,
            Err(e) => return fail(&format!("cannot write the world: {e}")),
        };
        if let Err(e) = store::write_atomic(&self.target, text.as_bytes()) {
            // The file is unchanged (the rename is the commit point): drop the batch.
            return fail(&format!("cannot write: {}", world_file::io_reason(&e)));
        }
        let stamp = store::stamp(&self.target);
        self.publish(Arc::new(Snapshot { world, stamp }));
        answers
    }
}

/// A 500 `InternalError` answer.
pub fn internal(request_id: &str, message: &str, shown: &str) -> Answer {
    let message = if shown.is_empty() {
        format!("The request processing has failed due to some unknown error: {message}.")
    } else {
        format!("The request processing has failed due to some unknown error: {shown}: {message}.")
    };
    Answer::error(500, "InternalError", &message, request_id)
}
