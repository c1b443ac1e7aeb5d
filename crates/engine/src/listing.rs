//! Where listings enter the engine: every folder listed on either side goes through
//! [`screen`] before its names become items. A listing is untrusted input (a share
//! is anyone's server), so names that belong to the cache's metadata at the root
//! (`.offline`, `.offline-share`), temp files of a sync, and names that cannot be an
//! item at all (`.`, `..`, a `/` or NUL in it, an entry outside the folder) are left
//! out here, once, for every backend. What is left out for a reason the person
//! should know is reported as a skipped item; the rest of the folder syncs.

use crate::sink::{ItemReport, ItemResult};
use offline_core::names::check_component;
use offline_core::{escape_bytes, is_reserved_root_name, is_temp_name, RelPath, Side};
use offline_remote::Entry;

/// A name left out of a listing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftOut {
    /// The folder it was listed in.
    pub dir: RelPath,
    /// The name as listed.
    pub name: Vec<u8>,
    /// The side that listed it.
    pub side: Side,
    /// Why.
    pub why: Why,
}

/// Why a listed name is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// `.offline` or `.offline-share` at the root: the cache's metadata.
    Reserved,
    /// Not one valid path component.
    Unusable,
}

/// Keeps the entries of `dir` (listed on `side`) that can be items; returns the
/// names left out that the person should hear about. Temp files of a sync and the
/// side's own metadata (the cache's `.offline`, the share's marker) go silently.
pub(crate) fn screen(side: Side, dir: &RelPath, entries: &mut Vec<Entry>) -> Vec<LeftOut> {
    let mut left_out = Vec::new();
    entries.retain(|entry| {
        let name = entry.name.as_slice();
        let why = if check_component(name).is_err() {
            Why::Unusable
        } else if dir.is_root() && is_reserved_root_name(name) {
            if is_own_metadata(side, name) {
                return false;
            }
            Why::Reserved
        } else {
            // A temp file of a sync goes silently; anything else stays.
            return !is_temp_name(name);
        };
        left_out.push(LeftOut {
            dir: dir.clone(),
            name: name.to_vec(),
            side,
            why,
        });
        false
    });
    left_out
}

/// The name a side keeps its own metadata under at its root.
fn is_own_metadata(side: Side, name: &[u8]) -> bool {
    match side {
        Side::Cache => name == offline_core::CACHE_DIR_NAME,
        Side::Share => name == offline_core::SHARE_MARKER,
    }
}

impl LeftOut {
    /// The report of one name left out: the item when its name is sound, else the
    /// folder it was listed in; skipped, with the reason.
    pub(crate) fn report(&self) -> ItemReport {
        let side = match self.side {
            Side::Cache => "cache",
            Side::Share => "share",
        };
        let shown = escape_bytes(&self.name);
        let (path, reason) = match self.why {
            Why::Reserved => (
                self.dir.join(&self.name).unwrap_or_else(|_| self.dir.clone()),
                format!(
                    "the {side}'s root holds `{shown}`, a name that belongs to the cache's own files; it is never synced, nor deleted"
                ),
            ),
            Why::Unusable => (
                self.dir.clone(),
                format!(
                    "the {side} lists an entry {shown:?} in this folder, which cannot be a name; it is left out, the rest of the folder syncs"
                ),
            ),
        };
        ItemReport {
            path,
            state: None,
            action: None,
            operation: None,
            result: ItemResult::Skipped(reason),
            bytes: 0,
            note: None,
            from: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offline_core::Meta;
    use offline_remote::Stat;

    fn entry(name: &[u8]) -> Entry {
        Entry {
            name: name.to_vec(),
            stat: Stat {
                meta: Meta::dir(0, 0o755),
                identity: "dir".into(),
            },
        }
    }

    fn names(entries: &[Entry]) -> Vec<Vec<u8>> {
        entries.iter().map(|e| e.name.clone()).collect()
    }

    #[test]
    fn the_share_root_keeps_neither_metadata_nor_bad_names() {
        let listed = [
            &b"ok"[..],
            b".offline",
            b".offline-share",
            b"..",
            b".",
            b"a//b",
            b"/a",
            b"n\0ul",
            b".offline-tmp-foo",
            b".offline-tmp-0000000000000001-0000000000000002",
        ];
        let mut entries: Vec<Entry> = listed.iter().map(|n| entry(n)).collect();
        let out = screen(Side::Share, &RelPath::root(), &mut entries);
        assert_eq!(
            names(&entries),
            [b"ok".to_vec(), b".offline-tmp-foo".to_vec()]
        );
        let why: Vec<(Vec<u8>, Why)> = out.iter().map(|l| (l.name.clone(), l.why)).collect();
        assert_eq!(
            why,
            [
                (b".offline".to_vec(), Why::Reserved),
                (b"..".to_vec(), Why::Unusable),
                (b".".to_vec(), Why::Unusable),
                (b"a//b".to_vec(), Why::Unusable),
                (b"/a".to_vec(), Why::Unusable),
                (b"n\0ul".to_vec(), Why::Unusable),
            ]
        );
        assert_eq!(
            out[0].report().path,
            RelPath::from_str_lossy(".offline").unwrap()
        );
        assert_eq!(out[1].report().path, RelPath::root());
    }

    #[test]
    fn reserved_names_count_only_at_the_root() {
        let sub = RelPath::from_str_lossy("sub").unwrap();
        let mut entries = vec![entry(b".offline"), entry(b".offline-share")];
        assert!(screen(Side::Share, &sub, &mut entries).is_empty());
        assert_eq!(entries.len(), 2);
        let mut entries = vec![entry(b".offline"), entry(b".offline-share")];
        let out = screen(Side::Cache, &RelPath::root(), &mut entries);
        assert!(entries.is_empty());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].name, b".offline-share");
    }
}
