//! Packs on the server (`packs/HEX.pack`, encoded by [`codec::pack`]):
//! reading them for the heads a listing misses, writing one after a push
//! or a listing that wrote or read many heads one by one, and merging many
//! small or mostly stale packs into one.
//!
//! Packs are hints, never the authority: see [`codec::pack`] for the rules
//! an entry must pass before a listing uses it. Writing one is best effort
//! (a user who may only read the vault simply writes none), and so is
//! removing the ones a merge replaced: two clients merging at once leave
//! two overlapping packs, which the next merge folds together.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use super::codec::{self, PACKS, pack, pack_path, parse_pack};
use super::listing::{HeadFile, Outcome, Scan, judge};
use super::{RemoteError, RemoteVault, pipe};
use crate::crypto::{Identity, os_rng};
use crate::transport::{PutMode, Transport, TransportError};

/// More packs than this are merged into one.
const MAX_PACKS: usize = 16;

/// What reading the packs gave.
pub(super) struct PackRead {
    /// Outcomes for wanted heads found in a pack.
    pub found: Vec<(String, Outcome)>,
    /// The packs read.
    pub packs: Vec<String>,
    /// Whether they are worth merging into one.
    pub consolidate: bool,
}

impl RemoteVault {
    fn pack_names(&mut self) -> Result<Vec<String>, RemoteError> {
        let entries = match self.t.list(PACKS) {
            Ok(e) => e,
            Err(TransportError::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut names: Vec<String> = entries
            .iter()
            .filter(|e| !e.is_dir)
            .filter_map(|e| parse_pack(&e.name).map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Read every pack, judging the entries for heads in `want`.
    pub(super) fn read_packs(
        &mut self,
        want: &HashMap<String, HeadFile>,
        scan: &Scan,
        ids: &[Box<dyn Identity>],
    ) -> Result<PackRead, RemoteError> {
        let packs = self.pack_names()?;
        let mut found: Vec<(String, Outcome)> = Vec::new();
        let mut done: HashSet<String> = HashSet::new();
        let (mut total, mut live) = (0usize, 0usize);
        for name in &packs {
            let Some(mut bridge) = open_pack(&mut *self.t, name)? else {
                continue;
            };
            let mut r = pack::Reader::new(&mut bridge as &mut dyn Read);
            while let Some(Ok(e)) = r.next_entry() {
                total += 1;
                let Some(f) = scan.heads.get(&e.id).copied() else {
                    continue;
                };
                if f.rev != e.rev || f.size != e.whole {
                    continue;
                }
                live += 1;
                if !want.contains_key(&e.id) || done.contains(&e.id) {
                    continue;
                }
                let whole = e.bytes.len() as u64 == e.whole;
                let payload = scan.payloads.get(&e.id).map(|p| p.0);
                match judge(e.bytes, &e.id, f, whole, payload, ids) {
                    // A forged or damaged entry: the head file decides.
                    Outcome::Bad(_) | Outcome::Incomplete | Outcome::Gone => {}
                    o => {
                        done.insert(e.id.clone());
                        // Into the cache now, so that the head's bytes
                        // are not held until the whole pack is read.
                        let o = match o {
                            Outcome::Mine(obj, bytes) => {
                                if let Some(c) = self.cache.as_ref()
                                    && bytes.len() as u64 == f.size
                                {
                                    c.put_head(&e.id, f.rev, &bytes);
                                }
                                Outcome::Mine(obj, Vec::new())
                            }
                            o => o,
                        };
                        found.push((e.id, o));
                    }
                }
            }
            // A pack that cannot be read is only a missed hint.
            let _ = bridge.take_error();
        }
        let consolidate = packs.len() > MAX_PACKS || (packs.len() > 1 && live * 2 < total);
        Ok(PackRead {
            found,
            packs,
            consolidate,
        })
    }

    /// Leave a pack of these heads (id, rev, head bytes). Best effort.
    pub(super) fn write_pack(
        &mut self,
        heads: &[(String, u64, Vec<u8>)],
    ) -> Result<(), RemoteError> {
        if heads.is_empty() {
            return Ok(());
        }
        self.t.mkdir_all(PACKS)?;
        let name = codec::random_hex(&mut os_rng(), 16);
        let mut w = self.t.put(&pack_path(&name), PutMode::New)?;
        w.write_all(&pack::MAGIC)?;
        for (id, rev, bytes) in heads {
            let prefix = codec::head::prefix_len(bytes).unwrap_or(bytes.len());
            w.write_all(&pack::entry(id, *rev, bytes, prefix))?;
        }
        w.finish()?;
        Ok(())
    }

    /// Merge `packs` into one holding every live entry (an (id, rev) the
    /// listing `scan` shows with that size, whoever can open it), then
    /// remove them. Best effort; entries are copied one at a time.
    pub(super) fn consolidate_packs(&mut self, scan: &Scan, packs: &[String]) {
        let _ = self.try_consolidate(scan, packs);
    }

    fn try_consolidate(&mut self, scan: &Scan, packs: &[String]) -> Result<(), RemoteError> {
        let name = codec::random_hex(&mut os_rng(), 16);
        let mut reader = self.t.reconnect()?;
        let mut w = self.t.put(&pack_path(&name), PutMode::New)?;
        w.write_all(&pack::MAGIC)?;
        let mut seen: HashSet<(String, u64)> = HashSet::new();
        for p in packs {
            let Some(mut bridge) = open_pack(&mut *reader, p)? else {
                continue;
            };
            let mut r = pack::Reader::new(&mut bridge as &mut dyn Read);
            while let Some(Ok(e)) = r.next_entry() {
                let live = scan
                    .heads
                    .get(&e.id)
                    .is_some_and(|f| f.rev == e.rev && f.size == e.whole);
                if !live || !seen.insert((e.id.clone(), e.rev)) {
                    continue;
                }
                // Kept as the other pack held it (others' heads cannot be
                // checked here; the reader checks each entry).
                w.write_all(&pack::raw_entry(&e.id, e.rev, e.whole, &e.bytes))?;
            }
        }
        drop(reader);
        w.finish()?;
        for p in packs {
            let _ = self.t.remove(&pack_path(p));
        }
        Ok(())
    }
}

/// Pack `name` for reading, or `None` when it is gone (merged away by
/// another client since the listing).
fn open_pack<'t>(
    t: &'t mut dyn Transport,
    name: &str,
) -> Result<Option<pipe::ReadBridge<'t>>, RemoteError> {
    match t.read(&pack_path(name)) {
        Ok(r) => Ok(Some(pipe::ReadBridge::new(r))),
        Err(TransportError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
