//! Every case of the suite, by group (names follow dEQP-VK.sparse_resources).

use crate::case::{Case, Group};

mod buffer;
mod image;
mod queue;

/// All cases, in run order.
pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut root = Group::root(&mut cases, "sparse_resources");
    buffer::add(&mut root.group("buffer"));
    image::add(&mut root.group("image"));
    queue::add(&mut root.group("queue"));
    cases
}
