//! Prepare: the walk hands every path of both sides, with its original, to the
//! planner (`offline_core::plan::Planner`), the few content hashes its rename
//! detection asks for are taken, and the guards check the plan (see `walk`,
//! `guards`).

use crate::cache::Cache;
use crate::error::Result;
use crate::exclude::{Checker, Exclusions};
use crate::guards;
use crate::sink::{ItemReport, ItemResult};
use crate::walk::Walker;
use offline_core::plan::{ExclusionWanted, HashWanted, Planner};
use offline_core::{Plan, RelPath, Side, SyncControl, SyncOperation};
use offline_remote::Remote;

pub use crate::guards::{MASS_DELETE_MIN, MASS_DELETE_PERCENT};

/// What prepare found: the plan, and what the executor needs to re-check it.
///
/// Each planned path is held once, in its plan item, whose triple holds the scanned
/// copies with their identities: everything the executor re-checks.
pub struct Prepared {
    /// The work, in path order.
    pub plan: Plan,
    /// Paths that could not be prepared (each with an error naming `prepare`).
    pub problems: Vec<ItemReport>,
    /// Listed names left out on purpose (the cache's metadata names at a root,
    /// names that cannot be items), each reported as skipped with its reason.
    pub skipped: Vec<ItemReport>,
    /// The trees this prepare looked at (empty: everything).
    pub(crate) scope: Vec<RelPath>,
}

/// Options of one prepare.
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    /// Only these trees (empty: everything).
    pub scope: Vec<RelPath>,
    /// Skip the mass-delete and empty-share guards.
    pub force: bool,
    /// Plan as if no original were known (rebuilding the state database).
    pub without_base: bool,
    /// Trees treated as pinned for this sync only (`fetch`: content without a pin).
    pub also_pinned: Vec<RelPath>,
    /// Report the work that brings content into the cache under this operation
    /// (`pin` for `offline pin`).
    pub fill_operation: Option<SyncOperation>,
    /// The mass-delete limit in percent (default [`MASS_DELETE_PERCENT`]).
    pub max_delete_percent: Option<u32>,
    /// Leave out copies of files larger than this many bytes, reported as skipped
    /// (the daemon on a slow link, outside its slow-link window).
    pub defer_larger_than: Option<u64>,
}

/// How many times the planner is asked which hashes would settle a rename: once
/// for the renamed files, once more for what is below folders found renamed then.
const HASH_ROUNDS: usize = 2;

impl Cache {
    /// Takes the content hashes the planner asks for to find renames (a candidate
    /// found by its fingerprint only, a renamed file that may also be edited). A
    /// copy that cannot be read is left without one: no rename is found for it.
    fn hash_for_renames(
        &self,
        share: &dyn Remote,
        planner: &mut Planner<'_>,
        exclusions: &Exclusions,
    ) {
        self.answer_exclusions(share, planner, exclusions);
        for _ in 0..HASH_ROUNDS {
            crate::births::give_births(&self.local, share, planner);
            let wanted = planner.hashes_wanted();
            if wanted.is_empty() {
                return;
            }
            for HashWanted { side, path } in wanted {
                let remote: &dyn Remote = match side {
                    Side::Cache => &self.local,
                    Side::Share => share,
                };
                match remote.hash_file(&path) {
                    Ok((hash, _)) => planner.give_hash(side, &path, hash),
                    Err(err) => tracing::debug!("{path}: not hashed to find a rename: {err}"),
                }
            }
        }
    }

    /// Tells the planner whether the paths a renamed folder would carry items to
    /// are excluded, from `exclusions` (the walk's) and the ignore files (read in
    /// the cache folder, else on the share). A path whose ignore files cannot be read
    /// gets no answer: its folder is renamed file by file.
    fn answer_exclusions(
        &self,
        share: &dyn Remote,
        planner: &mut Planner<'_>,
        exclusions: &Exclusions,
    ) {
        let wanted = planner.exclusions_wanted();
        if wanted.is_empty() {
            return;
        }
        let mut checker = Checker::new(exclusions.clone());
        let readers = crate::exclude::Readers {
            local: &self.local,
            share: Some(share),
        };
        for ExclusionWanted { path, is_dir } in wanted {
            match checker.check_with(readers, &path, is_dir) {
                Ok(reason) => planner.give_exclusion(&path, reason.is_some_and(|r| r.excluded)),
                Err(err) => tracing::debug!("{path}: exclusion unknown, no folder rename: {err}"),
            }
        }
    }

    /// The planner of a sync of this cache with `share` (whole-tree or streamed).
    pub(crate) fn planner<'c>(
        &self,
        share: &dyn Remote,
        control: &'c SyncControl,
        options: &PrepareOptions,
    ) -> Planner<'c> {
        let planner = Planner::new(control)
            .fills_as(options.fill_operation)
            .lineage(Side::Cache, self.local.lineage())
            .lineage(Side::Share, share.lineage());
        if options.without_base {
            planner.without_base()
        } else {
            planner
        }
    }

    /// Walks both sides with the originals and plans the sync.
    pub fn prepare(
        &self,
        share: &dyn Remote,
        control: &SyncControl,
        options: &PrepareOptions,
    ) -> Result<Prepared> {
        let pins = self.store.pins()?;
        let exclusions = self.exclusions()?;
        let walker = Walker {
            local: &self.local,
            share,
            store: Some(&self.store),
            pins: &pins,
            also_pinned: &options.also_pinned,
            exclusions: &exclusions,
        };
        let mut planner = self.planner(share, control, options);
        let walked = walker.run(&options.scope, &mut planner)?;
        self.hash_for_renames(share, &mut planner, &exclusions);
        let mut plan = planner.finish();
        let deferred = crate::defer::defer_large(&mut plan.items, options.defer_larger_than);
        if !options.force {
            let percent = options.max_delete_percent.unwrap_or(MASS_DELETE_PERCENT);
            guards::check(self, &plan, !walked.problems.is_empty(), percent)?;
        }
        let skipped = walked
            .left_out
            .iter()
            .map(|l| l.report())
            .chain(walked.notes)
            .chain(deferred)
            .collect();
        let problems = problem_reports(walked.problems);
        Ok(Prepared {
            plan,
            problems,
            skipped,
            scope: options.scope.clone(),
        })
    }
}

/// The reports of paths the walk could not read (each an error naming `prepare`).
pub(crate) fn problem_reports(
    problems: Vec<(RelPath, crate::error::ItemError)>,
) -> Vec<ItemReport> {
    problems
        .into_iter()
        .map(|(path, err)| ItemReport {
            path,
            state: None,
            action: None,
            operation: Some(SyncOperation::Prepare),
            result: ItemResult::Error(Box::new(err)),
            bytes: 0,
            note: None,
            from: None,
        })
        .collect()
}
