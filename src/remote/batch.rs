//! Many small pieces of work spread over several connections: reading the
//! heads a listing misses, pushing or pulling the files of a folder.
//!
//! Over a far link each request costs a round trip, and one connection
//! waits for each answer before it sends the next request (libssh2
//! pipelines only within one read or write call), so N connections do N
//! requests per round trip. [`RemoteVault::on_connections`] hands the items
//! to `k` threads, one connection each (the vault's own and `k - 1` from
//! [`crate::transport::Transport::reconnect`], kept for the rest of the
//! command), taking the next item from a shared queue as each finishes. The
//! first error stops the others at their next item and is the one returned.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{RemoteError, RemoteVault};
use crate::transport::Transport;

impl RemoteVault {
    /// Run `work` on every item over `k` connections (at least 1), and
    /// return the results in the order of `items`.
    pub fn on_connections<T, R, F>(
        &mut self,
        k: usize,
        items: Vec<T>,
        work: F,
    ) -> Result<Vec<R>, RemoteError>
    where
        T: Send,
        R: Send,
        F: Fn(&mut dyn Transport, T) -> Result<R, RemoteError> + Sync,
    {
        let k = k.clamp(1, items.len().max(1));
        if k == 1 {
            return items
                .into_iter()
                .map(|it| {
                    if crate::atomic::interrupted() {
                        return Err(RemoteError::Interrupted);
                    }
                    work(self.t.as_mut(), it)
                })
                .collect();
        }
        let n = items.len();
        let queue: Mutex<VecDeque<(usize, T)>> =
            Mutex::new(items.into_iter().enumerate().collect());
        let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
        let failed: Mutex<Option<RemoteError>> = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let conns = self.connections_for(k)?;
        std::thread::scope(|s| {
            for conn in conns {
                let (queue, results, failed, stop, work) =
                    (&queue, &results, &failed, &stop, &work);
                s.spawn(move || {
                    loop {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        if crate::atomic::interrupted() {
                            stop.store(true, Ordering::Relaxed);
                            let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
                            f.get_or_insert(RemoteError::Interrupted);
                            return;
                        }
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                        let Some((i, it)) = next else { return };
                        match work(&mut *conn, it) {
                            Ok(r) => {
                                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                            }
                            Err(e) => {
                                stop.store(true, Ordering::Relaxed);
                                let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
                                if f.is_none() {
                                    *f = Some(e);
                                }
                                return;
                            }
                        }
                    }
                });
            }
        });
        if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        Ok(results
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .map(|r| r.expect("every item ran"))
            .collect())
    }
}

/// Jobs pushed per round: what they pushed (their heads) is noted in the
/// cache and packed after each round, so memory stays bounded.
const ROUND: usize = 512;

impl RemoteVault {
    /// Push many objects over [`RemoteVault::transfers`] connections:
    /// `work` pushes one job on the connection it is given (for instance
    /// with [`super::push_stream`]). A job whose local input fails
    /// ([`RemoteError::Io`]) gives that error in its slot; any other error
    /// stops the batch. Every object pushed is noted in the cache, and a
    /// batch of at least [`super::listing::PACK_WRITE_MIN`] objects leaves
    /// packs of their heads for clients without a cache. `done` is called
    /// after each job, in the thread that ran it.
    pub fn push_batch<J, F>(
        &mut self,
        jobs: Vec<J>,
        work: F,
    ) -> Result<Vec<Result<super::Object, RemoteError>>, RemoteError>
    where
        J: Send,
        F: Fn(&mut dyn Transport, J) -> Result<super::Pushed, RemoteError> + Sync,
    {
        let k = self.transfers();
        let total = jobs.len();
        let mut out = Vec::with_capacity(total);
        let mut pack: Vec<(String, u64, Vec<u8>)> = Vec::new();
        let mut pack_bytes = 0usize;
        let mut jobs = jobs.into_iter();
        loop {
            let round: Vec<J> = jobs.by_ref().take(ROUND).collect();
            if round.is_empty() {
                break;
            }
            let results = self.on_connections(k, round, |t, j| match work(t, j) {
                Ok(p) => Ok(Ok(p)),
                Err(e @ RemoteError::Io(_)) => Ok(Err(e)),
                Err(e) => Err(e),
            })?;
            for r in results {
                match r {
                    Ok(p) => {
                        self.remember(&p);
                        if total >= super::listing::PACK_WRITE_MIN {
                            pack_bytes += p.head.len();
                            pack.push((p.obj.id.clone(), p.obj.rev, p.head));
                        }
                        out.push(Ok(p.obj));
                    }
                    Err(e) => out.push(Err(e)),
                }
            }
            if pack.len() >= 4096 || pack_bytes >= 16 << 20 {
                let _ = self.write_pack(&pack);
                pack.clear();
                pack_bytes = 0;
            }
        }
        if pack.len() >= super::listing::PACK_WRITE_MIN {
            let _ = self.write_pack(&pack);
        }
        Ok(out)
    }

    /// Remove many objects over [`RemoteVault::transfers`] connections (see
    /// [`RemoteVault::remove`]; lower revisions the last listing found
    /// beside a head are removed first). Returns each removal's result; a
    /// transport failure stops the batch.
    pub fn remove_batch(
        &mut self,
        objs: Vec<super::Object>,
    ) -> Result<Vec<Result<(), RemoteError>>, RemoteError> {
        if objs.len() <= 1 {
            return Ok(objs.iter().map(|o| self.remove(o)).collect());
        }
        let k = self.transfers();
        let jobs: Vec<(super::Object, Vec<u64>)> = objs
            .into_iter()
            .map(|o| {
                let l = self.leftovers.remove(&o.id).unwrap_or_default();
                (o, l)
            })
            .collect();
        let done = self.on_connections(k, jobs, |t, (o, left)| {
            match super::vault::remove_on(t, &o, &left) {
                Ok(()) => Ok((o, Ok(()))),
                Err(e @ RemoteError::Conflict(_)) => Ok((o, Err(e))),
                Err(e) => Err(e),
            }
        })?;
        let mut out = Vec::with_capacity(done.len());
        for (o, r) in done {
            if r.is_ok()
                && let Some(c) = self.cache.as_mut()
            {
                c.remove(&o.id, o.rev);
                c.forget_snapshot();
            }
            out.push(r);
        }
        Ok(out)
    }
}
