//! What a side's identities say about an item across a rename: the evidence the
//! planner's rename detection (`plan/rename.rs`) may rest on. Each backend says which
//! kind of identity it gives (`Capabilities::lineage` in `offline-remote`).

/// How an item moved to a new path is recognised on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lineage {
    /// Identities begin with `device:inode:` (the cache folder, folder shares): the
    /// same object wherever it is, folders included, edited or not.
    #[default]
    Inode,
    /// Identities carry a tag of the content that a move keeps (S3's ETag): a new
    /// file whose identity equals a vanished file's holds the same bytes.
    ContentTag,
    /// Identities are stat fingerprints (size, time, mode; WebDAV's and SFTP's): an
    /// equal one only makes a candidate, confirmed by the content hash.
    Stat,
}

/// The object an identity names (`device:inode`) when `lineage` gives one: the first
/// two fields of a folder-backend identity, both numbers.
pub fn object_key(lineage: Lineage, identity: &str) -> Option<&str> {
    if lineage != Lineage::Inode {
        return None;
    }
    let mut colons = identity.match_indices(':').map(|(at, _)| at);
    let (first, second) = (colons.next()?, colons.next()?);
    let (dev, ino) = (&identity[..first], &identity[first + 1..second]);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(dev) && digits(ino)).then_some(&identity[..second])
}

/// The size and modification time a folder-backend identity records
/// (`dev:ino:ctime:size:mtime`), to tell a renamed file whose bytes stayed from one
/// that was also edited.
pub fn size_and_mtime(identity: &str) -> Option<(u64, i64)> {
    let mut fields = identity.rsplitn(3, ':');
    let mtime = fields.next()?.parse().ok()?;
    let size = fields.next()?.parse().ok()?;
    Some((size, mtime))
}

/// The change time (`ctime`) in nanoseconds a folder-backend identity records
/// (`dev:ino:ctime_sec.ctime_nsec:size:mtime`): the object was alive then, so it
/// was born no later (see the planner's inode-reuse check).
pub fn change_time_ns(identity: &str) -> Option<i64> {
    let field = identity.split(':').nth(2)?;
    let (secs, nanos) = field.split_once('.')?;
    let (secs, nanos): (i64, i64) = (secs.parse().ok()?, nanos.parse().ok()?);
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_is_device_and_inode_of_folder_identities_only() {
        let id = "2049:1234:1700000000.000000001:10:1700000000000000000";
        assert_eq!(object_key(Lineage::Inode, id), Some("2049:1234"));
        assert_eq!(size_and_mtime(id), Some((10, 1_700_000_000_000_000_000)));
        assert_eq!(change_time_ns(id), Some(1_700_000_000_000_000_001));
        assert_eq!(change_time_ns("size:3:mtime:4"), None);
        assert_eq!(change_time_ns("etag:abc:size:3"), None);
        assert_eq!(object_key(Lineage::Stat, id), None);
        assert_eq!(object_key(Lineage::Inode, "etag:abc:size:3"), None);
        assert_eq!(object_key(Lineage::Inode, "size:3:mtime:4"), None);
        assert_eq!(object_key(Lineage::Inode, ""), None);
        assert_eq!(object_key(Lineage::Inode, "12"), None);
        assert_eq!(object_key(Lineage::Inode, ":1:2"), None);
    }
}
