//! The panthor uAPI conformance suite: one list of cases that runs on any
//! implementation of [`PanthorFile`], so the rules the virtual Mali is
//! tested against today are the ones a real `/dev/dri/renderD*` node is
//! checked against later.
//!
//! A [`Case`] is a name and a function that gets an [`Opener`] (it opens
//! as many files on the device under test as it needs) and returns
//! `Ok(())`, a failure or a skip ([`CaseError`]). Every case checks one
//! kernel rule, named in its doc comment with the Linux function that
//! implements it (Linux 6.12 `drivers/gpu/drm/panthor/` and
//! `drivers/gpu/drm/drm_syncobj.c`, plus the sparse seed patch), asserts
//! behaviour that can be observed (bytes the GPU read or wrote, syncobj
//! state, errnos, handles that are or are not valid), and after every call
//! that must fail checks that nothing changed.
//!
//! - [`cases()`]: the suite, in a stable order;
//! - [`runner`]: runs cases (one fresh device per case when the caller's
//!   factory makes one), catching panics, and prints the results table;
//! - [`openers`]: an [`Opener`] for the in-process virtual device and one
//!   for a real render node;
//! - `fixture`: BOs, VMs, groups, CS streams and the gate job the cases
//!   are written with; `check`: how cases fail.
//!
//! No case uses anything but the trait: what a real kernel cannot do, the
//! suite does not ask. Cases needing a newer driver than the device's skip
//! (with the reason) instead of failing, except `version_is_panthor_1_9`.
//!
//! Running it:
//!
//! ```sh
//! cargo test -p panthor-conformance            # every case on the virtual Mali
//! cargo run -p panthor-conformance             # the same, as a results table
//! cargo run -p panthor-conformance -- --device /dev/dri/renderD128
//! cargo run -p panthor-conformance -- --device auto --case 'sparse*'
//! cargo run -p panthor-conformance -- --list
//! ```

pub mod check;
mod fixture;
pub mod openers;
pub mod runner;

mod cases;

use panthor_uapi::real::RealFile;
use panthor_uapi::PanthorFile;

pub use check::{CaseError, R};
pub use runner::{run_case, run_cases, Outcome, Report};

/// Opens files on the device under test (`open("/dev/dri/renderD128")`
/// for a real node). Each call is a new file: its own GEM handles, VMs,
/// syncobjs, groups and sparse dummy page.
pub trait Opener: Sync {
    fn open(&self) -> Result<Box<dyn PanthorFile>, String>;

    /// What the device is, for reports.
    fn describe(&self) -> String;

    /// A new file as the real backend's [`RealFile`], for cases that use an
    /// ioctl outside [`PanthorFile`] (the virtual kernel device's
    /// VM_ACCESS). `None` when the device is not a device node.
    fn open_real(&self) -> Option<Result<RealFile, String>> {
        None
    }
}

/// One conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Unique, a valid Rust identifier (the test harness makes one `#[test]`
    /// per case from it).
    pub name: &'static str,
    /// The kernel rule, in one line (the case's doc comment has the detail).
    pub rule: &'static str,
    pub run: fn(&dyn Opener) -> R,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

/// The whole suite, in the order it runs.
pub fn cases() -> Vec<Case> {
    cases::all()
}

/// The case called `name`.
pub fn case(name: &str) -> Option<Case> {
    cases().into_iter().find(|c| c.name == name)
}

/// Opens a file, as a case failure when the device refuses.
pub(crate) fn open(o: &dyn Opener) -> R<Box<dyn PanthorFile>> {
    o.open()
        .map_err(|e| CaseError::fail(format!("opening a file on the device: {e}")))
}
