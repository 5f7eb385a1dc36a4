//! How a case reports: [`CaseError`] (fail or skip, with a reason that
//! names the source line), the [`Check`] extension that turns a uAPI error
//! into a failure saying which call failed, and [`expect_errno`] for the
//! calls that must fail.

use std::fmt;
use std::panic::Location;

use panthor_uapi::Errno;

/// Why a case did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseError {
    /// The implementation broke the rule the case checks.
    Fail(String),
    /// The case cannot run here (a kernel too old for the feature, a
    /// privilege the process has or lacks); says what is missing.
    Skip(String),
}

impl CaseError {
    /// A failure at the caller's source line.
    #[track_caller]
    pub fn fail(msg: impl fmt::Display) -> CaseError {
        CaseError::Fail(format!("{msg} [{}]", here(Location::caller())))
    }

    pub fn skip(msg: impl fmt::Display) -> CaseError {
        CaseError::Skip(msg.to_string())
    }
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseError::Fail(m) => write!(f, "FAIL: {m}"),
            CaseError::Skip(m) => write!(f, "SKIP: {m}"),
        }
    }
}

/// What every case step returns.
pub type R<T = ()> = Result<T, CaseError>;

/// `file:line` without the crate's directory prefix.
fn here(loc: &Location<'_>) -> String {
    let file = loc.file();
    let file = file.rsplit_once("src/").map_or(file, |(_, f)| f);
    format!("{file}:{}", loc.line())
}

/// Turns a failed uAPI call into a [`CaseError::Fail`] naming the call.
pub trait Check<T> {
    fn ctx(self, what: &str) -> R<T>;
}

impl<T, E: Into<Errno>> Check<T> for Result<T, E> {
    #[track_caller]
    fn ctx(self, what: &str) -> R<T> {
        let loc = Location::caller();
        self.map_err(|e| {
            let e: Errno = e.into();
            not_implemented(e, what).unwrap_or_else(|| {
                CaseError::Fail(format!("{what}: unexpected {e:?} [{}]", here(loc)))
            })
        })
    }
}

/// A skip when `e` says the device lacks the ioctl behind `what`: ENOTTY,
/// which panthor never returns for an ioctl it has, and which the virtual
/// kernel device (`/dev/vpanthor`, no GPU) returns for groups, syncobjs,
/// tiler heaps and PRIME.
fn not_implemented(e: Errno, what: &str) -> Option<CaseError> {
    (e == Errno::ENOTTY).then(|| {
        CaseError::skip(format!(
            "the device does not implement the ioctl behind {what} (ENOTTY)"
        ))
    })
}

/// Ok when `result` is the error `want`; a failure naming `what` otherwise
/// (including when the call succeeded).
#[track_caller]
pub fn expect_errno<T: fmt::Debug, E: Into<Errno>>(
    result: Result<T, E>,
    want: Errno,
    what: &str,
) -> R {
    let loc = Location::caller();
    match result {
        Err(e) => {
            let got: Errno = e.into();
            if got == want {
                Ok(())
            } else if let Some(skip) = not_implemented(got, what) {
                Err(skip)
            } else {
                Err(CaseError::Fail(format!(
                    "{what}: expected {want:?}, got {got:?} [{}]",
                    here(loc)
                )))
            }
        }
        Ok(v) => Err(CaseError::Fail(format!(
            "{what}: expected {want:?}, but it succeeded ({v:?}) [{}]",
            here(loc)
        ))),
    }
}

/// Fails the case with a formatted message when the condition is false.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::check::CaseError::fail(format!($($msg)+)));
        }
    };
}

/// Fails the case when the two values differ, printing both.
#[macro_export]
macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($msg:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            return Err($crate::check::CaseError::fail(format!(
                "{}: got {:?}, expected {:?}",
                format!($($msg)+),
                got,
                want
            )));
        }
    }};
}
