//! A test case, what it can end in, and the helpers cases use to say so.

use std::fmt;

use ash::vk;

use crate::gpu::Vk;

/// How a case ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", content = "reason")]
pub enum Outcome {
    Pass,
    /// The driver did something the spec does not allow; the reason says what.
    Fail(String),
    /// The driver lacks what the case needs; the reason names the feature.
    NotSupported(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "Pass",
            Outcome::Fail(_) => "Fail",
            Outcome::NotSupported(_) => "NotSupported",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(r) | Outcome::NotSupported(r) => Some(r),
        }
    }
}

/// Why a case stopped early: `?` in a case body turns into one of these.
#[derive(Debug)]
pub enum Stop {
    Fail(String),
    NotSupported(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Fail(r) => write!(f, "fail: {r}"),
            Stop::NotSupported(r) => write!(f, "not supported: {r}"),
        }
    }
}

pub type CaseResult = Result<(), Stop>;

impl From<CaseResult> for Outcome {
    fn from(r: CaseResult) -> Outcome {
        match r {
            Ok(()) => Outcome::Pass,
            Err(Stop::Fail(r)) => Outcome::Fail(r),
            Err(Stop::NotSupported(r)) => Outcome::NotSupported(r),
        }
    }
}

/// Names the Vulkan call that failed: `unsafe { d.create_buffer(..) }.call("vkCreateBuffer")?`.
pub trait Call<T> {
    fn call(self, name: &str) -> Result<T, Stop>;
}

impl<T> Call<T> for Result<T, vk::Result> {
    fn call(self, name: &str) -> Result<T, Stop> {
        self.map_err(|e| Stop::Fail(format!("{name} returned {e:?}")))
    }
}

/// Fails the case with a formatted reason.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::case::Stop::Fail(format!($($arg)*)))
    };
}

/// Fails the case unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::fail!($($arg)*);
        }
    };
}

/// Ends the case as NotSupported unless the driver has what it needs.
#[macro_export]
macro_rules! require {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err($crate::case::Stop::NotSupported(format!($($arg)*)));
        }
    };
}

type Body = Box<dyn Fn(&Vk) -> CaseResult + Send + Sync>;

/// One named case: a body run against the instance-level [`Vk`].
pub struct Case {
    pub name: String,
    body: Body,
}

impl Case {
    pub fn new(
        name: impl Into<String>,
        body: impl Fn(&Vk) -> CaseResult + Send + Sync + 'static,
    ) -> Case {
        Case {
            name: name.into(),
            body: Box::new(body),
        }
    }

    pub fn run(&self, vk: &Vk) -> CaseResult {
        (self.body)(vk)
    }
}

/// Builds case names as dotted paths under a group prefix.
pub struct Group<'a> {
    prefix: String,
    cases: &'a mut Vec<Case>,
}

impl<'a> Group<'a> {
    pub fn root(cases: &'a mut Vec<Case>, prefix: &str) -> Group<'a> {
        Group {
            prefix: prefix.to_string(),
            cases,
        }
    }

    pub fn group(&mut self, name: &str) -> Group<'_> {
        Group {
            prefix: format!("{}.{name}", self.prefix),
            cases: self.cases,
        }
    }

    pub fn case(&mut self, name: &str, body: impl Fn(&Vk) -> CaseResult + Send + Sync + 'static) {
        self.cases
            .push(Case::new(format!("{}.{name}", self.prefix), body));
    }
}
