//! The world as the endpoint holds it: an immutable snapshot that readers share, replaced
//! whole by the writer after each durable commit, and reloaded when another process
//! (`sgsim call`) replaced the file.
//!
//! Writes are serialized on one writer thread that commits in groups: it takes every call
//! waiting, applies them in order to a copy of the world, appends the ones that succeeded
//! to the journal beside the file ([`crate::journal`]) with one sync, and only then
//! publishes the new snapshot and answers them all. So an acknowledged change is on disk,
//! readers see only whole, durable calls, and a write costs an append instead of a
//! rewrite of the whole world. The world file itself is rewritten (and the journal
//! emptied) when the journal reaches [`CHECKPOINT_ENTRIES`], when no write came for
//! [`CHECKPOINT_IDLE`], and on shutdown.

use super::Answer;
use crate::api::{self, CallContext, Params};
use crate::journal;
use crate::model::World;
use crate::store::{Prepared, Stamp, Store};
use crate::world_file;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::Duration;

/// At most this many calls go into one commit.
pub const MAX_BATCH: usize = 512;

/// Once the world holds this many calls beyond the world file, a checkpoint is serialized
/// and written to a temporary file on a thread of its own (writes go on), then put in
/// place with a marker in the journal. (At 1,000 the checkpoints of a 470 KB world took a
/// third of a core at 2,000 writes/s on the 2-core machine; replaying 5,000 calls when the
/// file is read takes well under a second.)
pub const CHECKPOINT_ENTRIES: usize = 5000;

/// A journal past this many calls is emptied by a checkpoint on the writer thread.
pub const MAX_JOURNAL_CALLS: usize = 50_000;

/// The journal is folded into the world file after this long without a write.
pub const CHECKPOINT_IDLE: Duration = Duration::from_millis(200);

/// A version of the world with the identity of the file it came from.
pub struct Snapshot {
    /// The world.
    pub world: World,
    /// The world file's identity when it was read or written.
    pub stamp: Option<Stamp>,
    /// The hash of the world file's bytes (the journal's base).
    pub base: String,
    /// How many journal entries the world holds beyond the world file.
    pub entries: usize,
    /// How many calls the journal file holds in all.
    pub calls: usize,
    /// Answers of `Describe…` calls on this snapshot.
    pub cache: ResponseCache,
}

/// Successful `Describe…` answers of one snapshot, serialized, keyed by the call's action
/// and business parameters; the `RequestId` is spliced in per request. A snapshot never
/// changes, so an entry never goes stale; it goes with its snapshot.
#[derive(Default)]
pub struct ResponseCache {
    map: Mutex<std::collections::HashMap<String, Arc<String>>>,
}

/// The cache holds at most this many answers per snapshot (then it starts over).
pub const CACHE_ENTRIES: usize = 1024;

/// Where the `RequestId` value starts in a serialized answer: `{"RequestId":"`.
const ID_AT: usize = 14;

/// The length of the endpoint's request ids (UUID-shaped).
const ID_LEN: usize = 36;

impl ResponseCache {
    /// The cached answer for `key`, to be written with `request_id` spliced in (the
    /// template is shared, not copied).
    pub fn get(&self, key: &str, request_id: &str) -> Option<Answer> {
        if request_id.len() != ID_LEN {
            return None;
        }
        let template = Arc::clone(self.map.lock().ok()?.get(key)?);
        Some(Answer::spliced(200, template, ID_AT, request_id))
    }

    /// Remembers a serialized answer whose `RequestId` is `request_id`.
    pub fn put(&self, key: String, text: &str, request_id: &str) {
        let placed = text.get(..ID_AT) == Some("{\"RequestId\":\"")
            && text.get(ID_AT..ID_AT + request_id.len()) == Some(request_id)
            && text.get(ID_AT + request_id.len()..ID_AT + request_id.len() + 1) == Some("\"");
        if !placed || request_id.len() != ID_LEN {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CACHE_ENTRIES {
                map.clear();
            }
            map.insert(key, Arc::new(text.to_string()));
        }
    }
}

/// One call waiting for the writer.
struct Job {
    params: Params,
    request_id: String,
    reply: tokio::sync::oneshot::Sender<Answer>,
}

/// The shared world: snapshots for readers, a queue to the writer.
pub struct WorldHandle {
    /// The world file: its lock, identity and atomic replacement.
    store: Store,
    /// The file as named on the command line (for messages).
    shown: String,
    /// [`CHECKPOINT_ENTRIES`], or less in tests.
    checkpoint_entries: usize,
    current: RwLock<Arc<Snapshot>>,
    reload: Mutex<()>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
}

impl WorldHandle {
    /// Opens a world file; the writer thread is started by [`WorldHandle::start_writer`].
    /// Refused (one line naming the file) when the file is read-only or its lock file is a
    /// link, a FIFO or otherwise unusable: serve would otherwise fail only at the first
    /// write.
    pub fn open(path: &Path) -> Result<Arc<WorldHandle>, String> {
        WorldHandle::open_with(path, CHECKPOINT_ENTRIES)
    }

    /// [`WorldHandle::open`] with another checkpoint threshold (tests).
    fn open_with(path: &Path, checkpoint_entries: usize) -> Result<Arc<WorldHandle>, String> {
        let shown = path.display().to_string();
        let store = Store::open(path).map_err(|e| e.to_string())?;
        store.check_writable().map_err(|e| e.to_string())?;
        drop(store.lock().map_err(|e| e.to_string())?);
        let stamp = store.stamp();
        let loaded = journal::load(path)?;
        let snap = Snapshot {
            world: loaded.world,
            stamp,
            base: loaded.base,
            entries: loaded.entries,
            calls: loaded.total,
            cache: ResponseCache::default(),
        };
        Ok(Arc::new(WorldHandle {
            store,
            shown,
            checkpoint_entries,
            current: RwLock::new(Arc::new(snap)),
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
        let now = self.store.stamp();
        if now.is_none() || now == snap.stamp {
            return Ok(snap);
        }
        let _guard = match self.reload.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let snap = self.published();
        let now = self.store.stamp();
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
        let stamp = self.store.stamp();
        let loaded = journal::load(self.store.path())?;
        Ok(Snapshot {
            world: loaded.world,
            stamp,
            base: loaded.base,
            entries: loaded.entries,
            calls: loaded.total,
            cache: ResponseCache::default(),
        })
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
        // The journal, open for appending, valid for the published snapshot's base.
        let mut open: Option<(String, std::fs::File)> = None;
        // Checkpoints serialized off this thread come back here.
        // The snapshot, the new file's hash and the file written and synced beside the
        // world file, waiting for its rename.
        type Serialized = (Arc<Snapshot>, Result<(String, Prepared), String>);
        let (done_tx, done_rx) = mpsc::channel::<Serialized>();
        let mut busy = false;
        loop {
            let pending = self.published().entries > 0;
            let first = if pending {
                match rx.recv_timeout(CHECKPOINT_IDLE) {
                    Ok(j) => j,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.checkpoint(&mut open);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(j) => j,
                    Err(_) => break,
                }
            };
            if self.published().base.is_empty() {
                // The journal broke on a failed write: fold it into the file first.
                self.checkpoint(&mut open);
            }
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let answers = self.commit(&jobs, &mut open);
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.reply.send(answer);
            }
            if let Ok((snap, text)) = done_rx.try_recv() {
                busy = false;
                if let Ok((hash, prepared)) = text {
                    self.finish_checkpoint(&snap, hash, prepared, &mut open);
                }
            }
            let now = self.published();
            if now.calls >= MAX_JOURNAL_CALLS {
                self.checkpoint(&mut open);
            } else if !busy && now.entries >= self.checkpoint_entries {
                busy = true;
                let (tx, store) = (done_tx.clone(), self.store.clone());
                std::thread::spawn(move || {
                    let prepared =
                        world_file::to_string(&now.world, store.format()).and_then(|text| {
                            let hash = journal::hash_hex(text.as_bytes());
                            let file = store.prepare(text.as_bytes()).map_err(|e| e.to_string())?;
                            Ok((hash, file))
                        });
                    let _ = tx.send((now, prepared));
                });
            }
        }
        // Shutdown: leave the world file complete.
        self.checkpoint(&mut open);
    }

    /// Appends `lines` to the open journal (the one of `snap`'s base). When that fails, a
    /// partly written tail is cut off, so later entries are not hidden behind it; if the cut
    /// fails too, the journal is not used again until a checkpoint (`snap` is published
    /// without a base).
    fn append_or_cut(
        &self,
        snap: &Snapshot,
        open: &mut Option<(String, std::fs::File)>,
        lines: &str,
    ) -> std::io::Result<()> {
        let Some((_, file)) = open.as_mut() else {
            return Err(std::io::Error::other("the journal is not open"));
        };
        let before = file.metadata().map(|m| m.len());
        let Err(e) = journal::append(file, lines) else {
            return Ok(());
        };
        let cut = before.and_then(|len| {
            file.set_len(len)?;
            file.sync_data()
        });
        if cut.is_err() {
            *open = None;
            self.publish(Arc::new(Snapshot {
                world: snap.world.clone(),
                stamp: snap.stamp,
                base: String::new(),
                entries: snap.entries,
                calls: snap.calls,
                cache: ResponseCache::default(),
            }));
        }
        Err(e)
    }

    /// Puts in place a checkpoint serialized, written and synced off the writer thread: a
    /// marker in the journal (the new file, whose bytes hash to `new_base`, holds its first
    /// `snap.calls` calls), then the rename. Dropped (the prepared file removed) when the
    /// file or the journal moved on meanwhile.
    fn finish_checkpoint(
        &self,
        snap: &Snapshot,
        new_base: String,
        prepared: Prepared,
        open: &mut Option<(String, std::fs::File)>,
    ) {
        let Ok(_lock) = self.store.lock() else {
            return;
        };
        let cur = self.published();
        if self.store.stamp() != cur.stamp
            || snap.stamp != cur.stamp
            || snap.base != cur.base
            || cur.base.is_empty()
        {
            return;
        }
        if open.as_ref().is_none_or(|(b, _)| *b != cur.base) {
            return;
        }
        let marker = journal::marker_line(&new_base, snap.calls);
        if self.append_or_cut(&cur, open, &marker).is_err() {
            return;
        }
        if prepared.commit().is_err() {
            return; // the marker names a file that never came: harmless
        }
        if let Some((base, _)) = open.as_mut() {
            base.clone_from(&new_base);
        }
        self.publish(Arc::new(Snapshot {
            world: cur.world.clone(),
            stamp: self.store.stamp(),
            base: new_base,
            entries: cur.entries.saturating_sub(snap.entries),
            calls: cur.calls,
            cache: ResponseCache::default(),
        }));
    }

    /// Rewrites the world file with the journal folded in and starts an empty journal.
    /// On failure the journal stays, and is tried again later.
    fn checkpoint(&self, open: &mut Option<(String, std::fs::File)>) {
        let Ok(_lock) = self.store.lock() else {
            return;
        };
        let snap = self.published();
        if snap.entries == 0 || self.store.stamp() != snap.stamp {
            return;
        }
        let Ok(text) = world_file::to_string(&snap.world, self.store.format()) else {
            return;
        };
        if self.store.replace(text.as_bytes()).is_err() {
            return;
        }
        let base = journal::hash_hex(text.as_bytes());
        let stamp = self.store.stamp();
        // A crash before the reset leaves a stale journal, which readers ignore: the file
        // already holds its calls.
        *open = journal::reset(self.store.real(), &base)
            .ok()
            .map(|f| (base.clone(), f));
        self.publish(Arc::new(Snapshot {
            world: snap.world.clone(),
            stamp,
            base,
            entries: 0,
            calls: 0,
            cache: ResponseCache::default(),
        }));
    }

    /// Applies a group of calls in order and makes the result durable; every answer is
    /// 500 `InternalError` when the file cannot be read or the journal written.
    fn commit(&self, jobs: &[Job], open: &mut Option<(String, std::fs::File)>) -> Vec<Answer> {
        let fail = |msg: &str| -> Vec<Answer> {
            jobs.iter()
                .map(|j| internal(&j.request_id, msg, &self.shown))
                .collect()
        };
        let _lock = match self.store.lock() {
            Ok(l) => l,
            Err(e) => return fail(&e.to_string()),
        };
        let mut snap = self.published();
        if self.store.stamp() != snap.stamp {
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
        let mut lines = String::new();
        let mut added = 0;
        let answers: Vec<Answer> = jobs
            .iter()
            .map(|j| {
                let r = api::call_with_id(&mut world, &j.params, &ctx, &j.request_id);
                if r.is_ok() {
                    let q = journal::query_of(&j.params);
                    lines.push_str(&journal::entry_line(&ctx.now, &j.request_id, &q));
                    added += 1;
                }
                Answer::from(r)
            })
            .collect();
        if added == 0 {
            // Every call failed, and a failed call leaves the world as it was.
            return answers;
        }
        // The journal must belong to this snapshot's base; a new one starts empty, which
        // is right only when the world file holds everything (no entries pending).
        if snap.base.is_empty() {
            return fail("the journal could not be repaired after a failed write; retry after the next checkpoint");
        }
        if open.as_ref().is_none_or(|(b, _)| *b != snap.base) {
            let existing = if snap.entries > 0 {
                journal::open_append(self.store.real())
            } else {
                journal::reset(self.store.real(), &snap.base)
            };
            match existing {
                Ok(f) => *open = Some((snap.base.clone(), f)),
                Err(e) => {
                    return fail(&format!(
                        "cannot write the journal: {}",
                        world_file::io_reason(&e)
                    ))
                }
            }
        }
        if open.is_none() {
            return fail("cannot write the journal");
        }
        if let Err(e) = self.append_or_cut(&snap, open, &lines) {
            return fail(&format!(
                "cannot write the journal: {}",
                world_file::io_reason(&e)
            ));
        }
        self.publish(Arc::new(Snapshot {
            world,
            stamp: snap.stamp,
            base: snap.base.clone(),
            entries: snap.entries + added,
            calls: snap.calls + added,
            cache: ResponseCache::default(),
        }));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// More writes than the checkpoint threshold (50 here): the checkpoint written off the writer thread
    /// is put in place with its marker while writes go on, and the file with its journal
    /// holds every acknowledged call.
    #[test]
    fn a_background_checkpoint_keeps_every_call() {
        let dir = std::env::temp_dir().join(format!("sgsim-world-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.toml");
        let text = "region_id = \"cn-hangzhou\"\n[limits]\nrules_per_group = 100000\n[[vpcs]]\nid = \"vpc-1\"\n[[security_groups]]\nid = \"sg-1\"\nvpc_id = \"vpc-1\"\n";
        std::fs::write(&path, text).unwrap();
        let before = store_bytes(&path);
        let handle = WorldHandle::open_with(&path, 50).unwrap();
        let writer = handle.start_writer();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let n = 350;
        let statuses: Vec<u16> = rt.block_on(async {
            let mut all = Vec::new();
            for chunk in (0..n).collect::<Vec<_>>().chunks(400) {
                let calls = chunk.iter().map(|i| {
                    let q = format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange={p}/{p}&Permissions.1.SourceCidrIp=10.0.0.0/8", p = i + 1);
                    let params = api::parse_query(&q).unwrap();
                    handle.submit(params, format!("{i:036}"))
                });
                for a in futures_join(calls.collect()).await {
                    all.push(a.status);
                }
            }
            all
        });
        assert!(statuses.iter().all(|s| *s == 200), "every call succeeds");
        // The serialized checkpoint is put in place after a commit: keep writing (less
        // often than the idle checkpoint's 200 ms would fold the journal) until it is.
        let mut n = n;
        let start = std::time::Instant::now();
        loop {
            let journal = std::fs::read_to_string(journal::path_of(&path)).unwrap();
            // The marker is appended just before the rename: wait for both.
            if journal.contains("\"c\":") && store_bytes(&path) != before {
                // Readers see the new file and the calls after the marker.
                let w = journal::load(&path).unwrap().world;
                assert_eq!(w.group("sg-1").unwrap().rules.len(), n);
                break;
            }
            assert!(start.elapsed().as_secs() < 60, "no background checkpoint");
            n += 1;
            let q = format!("Action=AuthorizeSecurityGroup&RegionId=cn-hangzhou&SecurityGroupId=sg-1&Permissions.1.IpProtocol=TCP&Permissions.1.PortRange={n}/{n}&Permissions.1.SourceCidrIp=10.0.0.0/8");
            let a = rt.block_on(handle.submit(api::parse_query(&q).unwrap(), format!("{n:036}")));
            assert_eq!(a.status, 200);
            std::thread::sleep(Duration::from_millis(50));
        }
        handle.close();
        writer.join().unwrap();
        let world = journal::load(&path).unwrap().world;
        assert_eq!(world.group("sg-1").unwrap().rules.len(), n);
        let file_only = crate::world_file::load(&path).unwrap();
        assert_eq!(file_only, world, "the shutdown checkpoint holds every call");
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn store_bytes(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    /// Awaits every future, polled together (no extra dependency for a join).
    async fn futures_join<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
        let mut set = Vec::new();
        for f in futs {
            set.push(Box::pin(f));
        }
        let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
                if slot.is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => *slot = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        out.into_iter().map(|o| o.unwrap()).collect()
    }
}
