//! [`Ctx`]: what the scenarios of one run share.

use std::time::Duration;

use crate::options::Options;
use crate::report::Report;
use crate::traffic::{Rng, Senders};

/// What every scenario of one run shares.
pub(crate) struct Ctx<'a> {
    pub(crate) o: &'a Options,
    pub(crate) rng: Rng,
    pub(crate) senders: Senders,
    pub(crate) deadline: Duration,
    pub(crate) report: Report,
}
