//! Guards the in-memory size of what prepare keeps per planned path (issue #5: peak
//! memory of a 100k-file sync). Prints the sizes with `--nocapture`.

use offline_core::{Meta, PlanItem, Triple};
use offline_engine::scan::Scanned;
use std::mem::size_of;

#[test]
fn per_path_records_stay_small() {
    println!(
        "Meta {} Option<Meta> {} Triple {} PlanItem {} Scanned {}",
        size_of::<Meta>(),
        size_of::<Option<Meta>>(),
        size_of::<Triple>(),
        size_of::<PlanItem>(),
        size_of::<Scanned>()
    );
    // What a 100k-file initial sync keeps per file: one plan item (its triple's
    // copies boxed, so absent ones cost a pointer), and one boxed `Scanned` per copy
    // present: its metadata and its identity (a boxed str, its bytes on the heap).
    assert!(size_of::<Meta>() <= 72);
    assert!(size_of::<Option<Meta>>() <= 72);
    assert!(size_of::<Triple>() <= 32);
    assert!(size_of::<PlanItem>() <= 80);
    assert!(size_of::<Scanned>() <= 96);
}
